import { createHash } from 'node:crypto'
import { addToCounters } from '../../platform/db/counters.js'
import type { Db } from '../../platform/db/database.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnprocessableError,
} from '../../platform/http/errors.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { ActionRegistry } from '../../nexus/registry.js'
import { assertActionAllowed } from '../campaign/campaign.guard.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { canonicalEmail, isDisposableEmail } from '../user/email.js'
import { normaliseReferralCode } from '../user/referral-code.js'
import type { JoinReferralHook, UserService } from '../user/user.service.js'
import {
  type ClaimedMilestones,
  createMilestoneAnnouncer,
  type MilestoneAnnouncerOptions,
} from './referral.milestones.js'
import { CATCH_UP_REASON, type CatchUpOptions, createCatchUp } from './referral.catchup.js'
import * as repo from './referral.repo.js'
import { createRechecker, RECHECK_REASON, type RecheckOptions } from './referral.recheck.js'
import {
  activeRule,
  qualifiesAtApply,
  type ReferralRules,
  referralRules,
  ruleEvents,
} from './referral.rules.js'
import type { ApplyResponse, LeaderboardEntry } from './referral.schema.js'

export interface ApplyInput {
  /** The referred person: the caller, who must have joined the campaign. */
  userId: string
  sessionId: string
  ip: string
  code: string
  /**
   * At a join, the person whose user token it presented and that token's session (see
   * `JoinReferralHook`): their code, or one of their session's, is the new person's own.
   */
  presentedBy?: { userId: string; sessionId: string }
}

export interface ReferralService {
  /** `referral.apply` and `POST /api/referral`. */
  apply(campaign: Campaign, input: ApplyInput): Promise<ApplyResponse>
  /** A code given at registration: wired into the user service with `users.onJoinReferral`. */
  applyAtJoin: JoinReferralHook
  /**
   * The referred person did `action`: a pending referral qualifies when it is the campaign's
   * `referral_qualifies_on`. Modules whose action qualifies (e.g. `quote.submit`) call this.
   */
  recordAction(campaign: Campaign, userId: string, action: string): Promise<void>
  /**
   * Whether a committed action (`action` its registered name, `event` as sent) is the one the
   * campaign's referrals qualify on: the rule may name the action or any of its aliases.
   */
  qualifiesOn(campaign: Campaign, action: string, event: string): boolean
  /**
   * The campaign changed (any node): when its rule did (`referral_qualifies_on`, or the feature
   * back on), its pending referrals whose person satisfies the new one qualify, in batches.
   * How many qualified here (another node may run the batches instead).
   */
  campaignChanged(slug: string): Promise<number>
  /** One recheck sweep now (campaigns changed unseen, passes due); how many qualified. */
  sweepRechecks(): Promise<number>
  /**
   * One catch-up now: referrals whose person's qualifying action committed but whose
   * qualification never ran (the node died, a call failed); how many qualified.
   */
  sweepCatchUp(): Promise<number>
  /** Top `limit` referrers by qualified referrals, display names only (REST and `stats_update`). */
  leaderboard(campaignSlug: string, limit?: number): Promise<LeaderboardEntry[]>
  /** The audit trail, newest first: `limit` entries older than `before` (an entry's id) when given. */
  audit(campaignSlug: string, limit: number, before?: number): ReturnType<typeof repo.listAudit>
  /**
   * Erasure hook: what the referrals hold about the person's address goes, so does the text of
   * their refused attempts, and a referral of theirs still pending is rejected (reason `erased`).
   */
  forget(userId: string, trx: Db): Promise<void>
  /**
   * Start the periodic sweeps: milestones committed but never announced (a failed publish, a
   * crash after commit), rule-change rechecks, and the catch-up of qualifications lost after
   * their action committed (once at start too). Safe on every node at once; `stop()` before
   * closing the db.
   */
  start(): void
  stop(): Promise<void>
  /** One milestone sweep now; how many announcements went out. */
  sweepMilestones(): Promise<number>
}

export interface ReferralServiceDeps {
  db: Db
  users: Pick<UserService, 'findMember' | 'displayNames' | 'sessionIds'>
  publisher: RealtimePublisher
  onError?: (err: unknown) => void
  /** The milestone announcer's lease and sweep interval (see referral.milestones.ts). */
  milestones?: MilestoneAnnouncerOptions
  /** Resolves a rule's action name to the names it is sent under (without it: the name only). */
  actions?: Pick<ActionRegistry, 'resolve' | 'isFallback'>
  /** Told of every campaign change, on every node: a rule change starts a recheck at once. */
  campaigns?: Pick<CampaignService, 'onChange'>
  /** Recheck batches, the second pass's delay, and the sweep interval (see referral.recheck.ts). */
  recheck?: RecheckOptions
  /** Catch-up batches, interval and margin (see referral.catchup.ts). */
  catchUp?: CatchUpOptions
}

/** Why a pending referral was rejected when its person was erased (the audit trail's `reason`). */
const ERASED_REASON = 'erased'

/**
 * A code as typed, less the spaces and dashes people add when copying it: ASCII letters and
 * digits, as people could have been given it. Checked before upper-casing, which turns some other
 * letters into those of the alphabet (`ſ`, which reads as an f, into S; `ﬀ` into FF; `ß` into SS):
 * look-alikes, refused as the Cyrillic and full-width ones are.
 */
const TYPED_CODE = /^[A-Za-z0-9]{1,32}$/

/**
 * Per campaign, of the mailbox an address delivers to (`canonicalEmail`: +tags, Gmail's dots):
 * its accounts are one person, referred once.
 */
const mailboxKey = (campaign: string, email: string) =>
  createHash('sha256')
    .update(`mailbox\u0000${campaign}\u0000${canonicalEmail(email)}`)
    .digest('hex')
    .slice(0, 32)

/** Per campaign, of the client's network (an IPv6 client's /64: it may send from any address in it). */
const ipHash = (campaign: string, ip: string) =>
  createHash('sha256')
    .update(`${campaign}\u0000${clientNetwork(ip)}`)
    .digest('hex')
    .slice(0, 32)

/** The `user_id` of a guest session's principal: a visitor who has not registered. */
export const GUEST = 'guest'

export const refusals = {
  unknown: () =>
    new NotFoundError('This referral code does not exist in this campaign', 'UNKNOWN_REFERRAL_CODE'),
  notMember: () =>
    new ForbiddenError('Join the campaign before applying a referral code', 'REGISTRATION_REQUIRED'),
  own: () => new UnprocessableError('You cannot use your own referral code', 'OWN_REFERRAL_CODE'),
  disposable: () =>
    new UnprocessableError('Referrals from disposable email addresses do not count', 'DISPOSABLE_EMAIL'),
  already: () => new ConflictError('You have already been referred in this campaign', 'ALREADY_REFERRED'),
  mutual: () =>
    new UnprocessableError(
      'You referred this person: their code cannot count you as their referral',
      'MUTUAL_REFERRAL',
    ),
  ipCap: () =>
    new UnprocessableError(
      'This referral code has reached its limit for your network',
      'REFERRAL_IP_LIMIT_REACHED',
    ),
  max: () =>
    new ConflictError(
      'This referral code has reached its maximum number of referrals',
      'MAX_REFERRALS_REACHED',
    ),
}

export function createReferralService(deps: ReferralServiceDeps): ReferralService {
  const { db } = deps
  const milestones = createMilestoneAnnouncer(deps, deps.milestones)

  /** The registered action `name` names (not the tracking fallback, whose events keep their names). */
  function registered(name: string) {
    const action = deps.actions?.resolve(name)
    return action && !deps.actions!.isFallback(action) ? action : undefined
  }
  const events = (on: string) =>
    ruleEvents(on, (name) => {
      const action = registered(name)
      return action && { name: action.name, aliases: action.aliases ?? [] }
    })

  /**
   * Qualify inside the caller's transaction: bump the counter and claim any milestone reached,
   * leased to this request for announcing after commit. Undefined when `max_referrals` is reached.
   */
  async function qualify(
    trx: Db,
    campaign: string,
    referral: { id: number; code: string; referrer_id: string },
    rules: ReferralRules,
    actor: string,
    opts: { reason?: string; countCampaign?: boolean } = {},
  ): Promise<ClaimedMilestones | undefined> {
    const reason = opts.reason ?? null
    const count = await repo.incrementQualified(trx, campaign, referral.referrer_id, rules.maxReferrals)
    if (count === undefined) return undefined
    if (!(await repo.transition(trx, referral.id, 'pending', 'qualified', reason))) {
      throw new ConflictError('This referral changed concurrently; retry', 'REFERRAL_CONFLICT')
    }
    if (opts.countCampaign !== false) await addToCounters(trx, campaign, { referrals_qualified: 1 })
    await repo.audit(trx, {
      campaign_slug: campaign,
      referral_id: referral.id,
      code: referral.code,
      actor,
      from_state: 'pending',
      to_state: 'qualified',
      reason,
    })
    const claimedAt = Date.now()
    const rows = await repo.claimMilestones(
      trx,
      campaign,
      referral.referrer_id,
      rules.milestones,
      count,
      milestones.leaseMs,
    )
    return { rows, claimedAt }
  }

  /**
   * A pending referral, row-locked by the caller, whose person satisfied the rule: qualified, or
   * rejected (`max_referrals`) when the referrer has no slot left. Settles the pending counter.
   */
  async function settle(
    trx: Db,
    campaign: string,
    pending: { id: number; code: string; referrer_id: string },
    rules: ReferralRules,
    actor: string,
    opts: { reason?: string; countCampaign?: boolean } = {},
  ): Promise<ClaimedMilestones | 'rejected'> {
    const won = await qualify(trx, campaign, pending, rules, actor, opts)
    await repo.addPending(trx, campaign, pending.referrer_id, -1)
    if (won) return won
    // The referrer filled max_referrals while this one waited: rejected, with the reason.
    if (await repo.transition(trx, pending.id, 'pending', 'rejected', 'max_referrals')) {
      await repo.audit(trx, {
        campaign_slug: campaign,
        referral_id: pending.id,
        code: pending.code,
        actor,
        from_state: 'pending',
        to_state: 'rejected',
        reason: 'max_referrals',
      })
    }
    return 'rejected'
  }

  /** A pending referral just rejected because its person was erased: its pending count and audit. */
  async function dropped(
    trx: Db,
    r: { id: number; campaign_slug: string; code: string; referrer_id: string },
  ): Promise<void> {
    await repo.addPending(trx, r.campaign_slug, r.referrer_id, -1)
    await repo.audit(trx, {
      campaign_slug: r.campaign_slug,
      referral_id: r.id,
      code: r.code,
      actor: 'system',
      from_state: 'pending',
      to_state: 'rejected',
      reason: ERASED_REASON,
    })
  }

  const rechecker = createRechecker(
    {
      db,
      events,
      async settle(trx, slug, pending, rules, won) {
        const done = await settle(trx, slug, pending, rules, 'system', {
          reason: RECHECK_REASON,
          countCampaign: false,
        })
        if (done === 'rejected') return false
        won.push(done)
        return true
      },
      async dropErased(trx, slug, pending) {
        if (await repo.transition(trx, pending.id, 'pending', 'rejected', ERASED_REASON))
          await dropped(trx, { ...pending, campaign_slug: slug })
      },
      addQualified: async (trx, slug, n) => {
        if (n > 0) await addToCounters(trx, slug, { referrals_qualified: n })
      },
      async announce(won) {
        for (const w of won) await announce(w)
      },
      onError: deps.onError,
    },
    deps.recheck,
  )
  const catchUp = createCatchUp(
    {
      db,
      events,
      async settle(trx, slug, pending, rules, won) {
        const done = await settle(trx, slug, pending, rules, 'system', { reason: CATCH_UP_REASON })
        if (done === 'rejected') return false
        won.push(done)
        return true
      },
      async announce(won) {
        for (const w of won) await announce(w)
      },
      onError: deps.onError,
    },
    deps.catchUp,
  )
  let unsubscribe: (() => void) | undefined

  function qualifiesOn(campaign: Campaign, action: string, event: string): boolean {
    // Nothing qualifies while referrals are off: they wait, and are checked again once back on.
    const on = activeRule(campaign)
    if (on === null || qualifiesAtApply(referralRules(campaign))) return false
    const canonical = (name: string) => registered(name)?.name ?? name
    return on === event || on === action || [action, event].some((n) => canonical(n) === canonical(on))
  }

  /**
   * After commit, and only for milestone rows this transaction inserted. Never fails its caller:
   * the referral is committed, and what does not go out now is announced by a sweep.
   */
  async function announce(won: ClaimedMilestones | undefined) {
    if (won) await milestones.announce(won)
  }

  /** True when `referrer` was themself referred by `referred` (a code traded back). */
  async function referredBy(q: Db, slug: string, referrer: string, referred: string) {
    return (await repo.findByReferred(q, slug, referrer))?.referrer_id === referred
  }

  async function check(campaign: Campaign, input: ApplyInput, code: string, rules: ReferralRules) {
    const slug = campaign.slug
    // Not the shape of any code: unknown, without a lookup.
    if (!TYPED_CODE.test(input.code.replace(/[\s-]/g, ''))) throw refusals.unknown()
    const referrer = await deps.users.findMember(slug, { code })
    if (!referrer || referrer.erased_at) throw refusals.unknown()
    const referred = await deps.users.findMember(slug, { userId: input.userId })
    if (!referred || referred.erased_at || !referred.email) throw refusals.notMember()
    // A browser both people used: not only the sessions they joined from, but also those they
    // logged in or joined again from later (a guest session of the referrer's second browser,
    // whose guest token then makes the "friend").
    const [referrerSessions, referredSessions] = await Promise.all([
      deps.users.sessionIds(referrer.user_id).then((ids) => new Set([referrer.session_id, ...ids])),
      deps.users.sessionIds(referred.user_id),
    ])
    const ownSession = [input.sessionId, referred.session_id, ...referredSessions].some((id) =>
      referrerSessions.has(id),
    )
    const ownEmail = !!referrer.email && canonicalEmail(referrer.email) === canonicalEmail(referred.email)
    // A second account made while logged in as the referrer: their token presented at this join,
    // or at the one that made the referred person's membership.
    const madeBy = (by: { userId: string | null; sessionId: string | null } | undefined) =>
      !!by && (referrer.user_id === by.userId || (!!by.sessionId && referrerSessions.has(by.sessionId)))
    const madeByReferrer =
      madeBy(input.presentedBy) ||
      madeBy({ userId: referred.joined_via_user_id, sessionId: referred.joined_via_session_id })
    if (referrer.user_id === referred.user_id || ownSession || ownEmail || madeByReferrer)
      throw refusals.own()
    const mailbox = mailboxKey(slug, referred.email)
    // Another account of their mailbox referred: the same person.
    if ((await repo.findByReferred(db, slug, referred.user_id)) || (await repo.mailboxReferred(db, mailbox)))
      throw refusals.already()
    if (await referredBy(db, slug, referrer.user_id, referred.user_id)) throw refusals.mutual()
    if (isDisposableEmail(referred.email)) throw refusals.disposable()
    if (rules.maxReferrals !== null) {
      if ((await repo.qualifiedCount(db, slug, referrer.user_id)) >= rules.maxReferrals) throw refusals.max()
    }
    return { referrer, mailbox }
  }

  async function apply(campaign: Campaign, input: ApplyInput): Promise<ApplyResponse> {
    const slug = campaign.slug
    const rules = referralRules(campaign)
    const code = normaliseReferralCode(input.code)
    // A visitor, not a person yet: told to register, and not an attempt for the fraud review.
    if (input.userId === GUEST) throw refusals.notMember()
    try {
      const { referrer, mailbox } = await check(campaign, input, code, rules)
      const { id, won, status } = await db.transaction().execute(async (trx) => {
        // The person's lock first: their qualifying action (`recordAction`) waits for this
        // transaction before looking for their referral, or this one, once it has the lock, sees
        // that action's log entry (`whoDid` below). Without it each could miss the other, and the
        // referral would stay pending for good. Their erasure waits here too, or is seen.
        await repo.lockPerson(trx, input.userId)
        if (await repo.isErased(trx, input.userId)) throw refusals.notMember()
        // Checked again under the pair's lock: the other direction may have committed meanwhile.
        await repo.lockPair(trx, slug, referrer.user_id, input.userId)
        if (await referredBy(trx, slug, referrer.user_id, input.userId)) throw refusals.mutual()
        // And under the mailbox's: another account of it may be applying now.
        await repo.lockMailbox(trx, mailbox)
        if (await repo.mailboxReferred(trx, mailbox)) throw refusals.already()
        if (
          !(await repo.bumpIpCount(
            trx,
            { campaign_slug: slug, code, ip_hash: ipHash(slug, input.ip) },
            rules.maxPerIp,
          ))
        )
          throw refusals.ipCap()
        const id = await repo.insertReferral(
          trx,
          {
            campaign_slug: slug,
            code,
            referrer_id: referrer.user_id,
            referred_id: input.userId,
            ip_hash: ipHash(slug, input.ip),
          },
          mailbox,
        )
        if (id === undefined) throw refusals.already()
        // The campaign's `referrals` (its stats and dashboard), at join or after, by any route.
        await addToCounters(trx, slug, { referrals: 1 })
        await repo.audit(trx, {
          campaign_slug: slug,
          referral_id: id,
          code,
          actor: input.userId,
          from_state: null,
          to_state: 'pending',
        })
        // Qualified at once when the person already did what the rule asks (a quote sent before
        // the code was applied), as a recheck would find: else it would wait for a second one.
        const satisfied =
          qualifiesAtApply(rules) ||
          (await repo.whoDid(trx, slug, [input.userId], events(rules.qualifiesOn))).size > 0
        if (!satisfied) {
          await repo.addPending(trx, slug, referrer.user_id, 1)
          return { id, won: undefined, status: 'pending' as const }
        }
        const won = await qualify(trx, slug, { id, code, referrer_id: referrer.user_id }, rules, input.userId)
        // Lost the race for the last slot under max_referrals: refuse, and roll everything back.
        if (!won) throw refusals.max()
        return { id, won, status: 'qualified' as const }
      })
      await announce(won)
      return { referral_id: id, code, status }
    } catch (err) {
      if (err instanceof AppError && err.statusCode < 500) {
        // Refused attempts stay in the audit trail for fraud review; best effort, never fatal.
        await db
          .transaction()
          .execute((trx) =>
            repo.auditRefused(trx, {
              campaign_slug: slug,
              code: code.slice(0, 32),
              actor: input.userId,
              reason: err.code,
            }),
          )
          .catch((e) => deps.onError?.(e))
      }
      throw err
    }
  }

  return {
    apply,
    async applyAtJoin({ campaign, userId, sessionId, ip, code, presentedBy }) {
      // A code given at join is a referral like any other: not in a campaign without them.
      assertActionAllowed(campaign, 'referral')
      const existing = await repo.findByReferred(db, campaign.slug, userId)
      // A repeated join with the same code reports the referral it already made.
      if (existing && existing.code === normaliseReferralCode(code)) return { status: existing.state }
      const applied = await apply(campaign, { userId, sessionId, ip, code, presentedBy })
      return { status: applied.status }
    },

    async recordAction(campaign, userId, action) {
      const rules = referralRules(campaign)
      if (qualifiesAtApply(rules) || !qualifiesOn(campaign, action, action)) return
      // The action committed before this runs. An apply of the person's that holds their lock
      // may have read the log before it did: wait for it to commit, and its referral is seen here
      // (an apply that takes the lock after this sees the action, and qualifies at once).
      await repo.lockPerson(db, userId)
      if (!(await repo.pendingFor(db, campaign.slug, userId))) return
      const won = await db.transaction().execute(async (trx) => {
        // Locked and read again: a concurrent qualifying action waits here, then finds it settled
        // (else both would settle it, and the referrer's pending count would drop twice).
        const pending = await repo.pendingFor(trx, campaign.slug, userId, { lock: true })
        if (!pending) return undefined
        const done = await settle(trx, campaign.slug, { ...pending, id: Number(pending.id) }, rules, userId)
        return done === 'rejected' ? undefined : done
      })
      await announce(won)
    },

    qualifiesOn,

    async campaignChanged(slug) {
      return rechecker.look(slug)
    },
    sweepRechecks: () => rechecker.sweep(),
    sweepCatchUp: () => catchUp.sweep(),

    async leaderboard(campaignSlug, limit = 10) {
      // Erased people keep their counters but leave the board. The repository skips them; one
      // erased between the two reads is skipped here, and the next page read if need be.
      const page = limit + 20
      const board: LeaderboardEntry[] = []
      // Someone climbing while the pages are read pushes a row already read onto the next page.
      const listed = new Set<string>()
      for (let offset = 0; board.length < limit; offset += page) {
        const rows = await repo.topReferrers(db, campaignSlug, page, offset)
        const names = await deps.users.displayNames(rows.map((r) => r.user_id))
        for (const r of rows) {
          const name = names.get(r.user_id)
          if (name === undefined || listed.has(r.user_id) || board.length >= limit) continue
          listed.add(r.user_id)
          board.push({ rank: board.length + 1, display_name: name, referrals: r.qualified })
        }
        if (rows.length < page) break
      }
      return board
    },

    audit: (campaignSlug, limit, before) => repo.listAudit(db, campaignSlug, limit, before),
    async forget(userId, trx) {
      // After any apply of theirs in flight (it committed, and is found below), or before it
      // (which then sees the erasure and is refused).
      await repo.lockPerson(trx, userId)
      await repo.forgetAddress(trx, userId)
      await repo.forgetAttempts(trx, userId)
      // A referral still pending can no longer qualify: its person is gone, and will do nothing
      // more. Left pending, a later rule change (to `register`, or referrals back on) would credit
      // the referrer with someone erased, milestones and all, and their pending count would
      // never settle.
      for (const r of await repo.rejectPendingOf(trx, userId, ERASED_REASON)) await dropped(trx, r)
    },
    start() {
      milestones.start()
      rechecker.start()
      catchUp.start()
      unsubscribe ??= deps.campaigns?.onChange((c) => {
        rechecker.look(c.slug).catch((err) => deps.onError?.(err))
      })
    },
    async stop() {
      unsubscribe?.()
      unsubscribe = undefined
      await Promise.all([milestones.stop(), rechecker.stop(), catchUp.stop()])
    },
    sweepMilestones: () => milestones.sweep(),
  }
}
