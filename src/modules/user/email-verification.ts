import { createHash, randomBytes } from 'node:crypto'
import { ulid } from 'ulid'
import type { Principal } from '../../platform/auth/principal.js'
import { backgroundWork } from '../../platform/concurrency.js'
import type { Db } from '../../platform/db/database.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import type { Mailer } from '../../platform/mail.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import { EMAIL_VERIFIED_EVENT } from '../campaign/campaign.schema.js'
import { type AccountMailTranslation, sendAccountMail } from './account-mail.js'
import type { EmailChange } from './email-change.js'
import * as repo from './email-verification.repo.js'
import { findById, findMembership } from './user.repo.js'
import type { JoinFollowUp, Joining } from './user.service.js'

/** How long a link works. */
export const VERIFY_TTL_MS = 24 * 60 * 60_000

/** What asking for links and using them may cost. */
export interface VerifyLimits {
  /** Links mailed to one person (asked for, or sent at a join), whatever the network. */
  requestsPerPerson: number
  requestWindowMs: number
  /** Links tried from one client network (an IPv4 address, an IPv6 /64). */
  usesPerNetwork: number
  useWindowMs: number
}

const DEFAULT_LIMITS: VerifyLimits = {
  requestsPerPerson: 3,
  requestWindowMs: 60 * 60_000,
  usesPerNetwork: 30,
  useWindowMs: 15 * 60_000,
}

/** After a verification committed: the campaigns (the person's) that logged the event. */
export type VerifiedHook = (verified: { userId: string; campaigns: string[] }) => void

export interface EmailVerificationDeps extends AccountMailTranslation {
  db: Db
  limiter: RateLimiter
  /**
   * Unset (no `SMTP_URL`, or nowhere to link to): asking for a link is 503 `MAIL_UNAVAILABLE`.
   * A link goes to `verifyUrl` with `#token=`; one mailed at a join, with `campaignPage`, to that
   * campaign's page with `#verify=` instead, so the person is back where they joined.
   */
  mail?: { mailer: Mailer; verifyUrl: string; campaignPage?: (slug: string) => string }
  limits?: VerifyLimits
  /** A change of address confirmed by the same link route (see `EmailChange.take`). */
  changes?: Pick<EmailChange, 'take' | 'changed'>
  /** A link that could not be made or mailed (the caller was answered before it was tried). */
  onError?: (err: unknown) => void
}

export interface EmailVerification {
  /**
   * `POST /api/auth/email/verification`: mails the caller a link, unless verified already; to the
   * page of `campaign` (one they joined), as a link mailed at that join is.
   */
  request(principal: Principal, options?: { campaign?: string }): Promise<'sent' | 'already_verified'>
  /** `POST /api/auth/email/verify`: the link's address is verified. */
  verify(token: string, caller: { ip: string }): Promise<{ email_verified_at: Date }>
  /**
   * The join hook (`UserService.onJoin`), in the join's transaction. A person verified before
   * joining a campaign: it logs `email_verified` for them, with the membership, so a referral rule
   * reading it is never left waiting by a crash. Not verified: with the campaign's
   * `custom_rules.verify_email_at_join`, and mail, they are mailed a link once the join has
   * committed (within their budget). A new person, or a join again needing no mail, costs no query.
   */
  joining(trx: Db, join: Joining): Promise<JoinFollowUp | undefined>
  /**
   * Inside a transaction whose mailed link proved the person reads `email` (a password reset):
   * verifies it as a verification link would. Run what it returns once that has committed.
   */
  proved(trx: Db, userId: string, email: string): Promise<() => void>
  /** Set once by the wiring: told after each verification committed (referrals qualify on it). */
  onVerified(hook: VerifiedHook): void
  /** Erasure: the person's links go. */
  forget(userId: string, trx: Db): Promise<void>
  /** Resolves once every mail asked for so far was sent or failed (shutdown waits for it). */
  idle(): Promise<void>
}

const eventId = () => `evt_${ulid()}`

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The verification mail, keyed `mail.verify.*` in a campaign's catalog. */
export const VERIFY_MAIL = {
  subject: 'Confirm your email address',
  intro: 'Someone, hopefully you, signed up on {site} with {email}.',
  action: 'Confirm it is your address here (the link works once, for {hours} hours):',
  ignore: 'If it was not you, ignore this mail.',
}

/** One code for every link that does not work: unknown, expired, used, replaced, its address changed. */
const invalidLink = () =>
  new BadRequestError(
    'This verification link is no longer valid (it expired, was used, or a newer one was sent): ask for a new one',
    'INVALID_VERIFICATION_TOKEN',
  )

/** `custom_rules.verify_email_at_join`: mail a verification link to whoever joins unverified. */
export function verifiesAtJoin(campaign: Pick<Campaign, 'metadata'>): boolean {
  return (
    (campaign.metadata.custom_rules as Record<string, unknown> | undefined)?.verify_email_at_join === true
  )
}

/**
 * Email verification: a person proves they read their address's mail by opening a link sent to
 * it, as a double opt-in asks. The link carries a random 256-bit token that only its SHA-256 is
 * stored of, with the address it went to (it confirms that address only); it works once, for
 * 24 hours, and only the latest sent does. A password reset's link proves the same. Each
 * verification logs `email_verified` in every campaign the person joined, so a referral drive
 * can count only people who did (`referral_qualifies_on: email_verified`).
 */
export function createEmailVerification(deps: EmailVerificationDeps): EmailVerification {
  const { db, limiter } = deps
  const limits = deps.limits ?? DEFAULT_LIMITS
  const background = backgroundWork((err) => deps.onError?.(err))
  const hooks: VerifiedHook[] = []

  function told(userId: string, campaigns: string[]) {
    for (const hook of hooks) hook({ userId, campaigns })
  }

  /** Marks the address verified and logs the event; what to tell once committed (nothing if it was already). */
  async function confirm(trx: Db, userId: string, email: string) {
    const marked = await repo.markVerified(trx, userId, email)
    if (!marked) return undefined
    const campaigns = marked.now
      ? await repo.logVerified(trx, userId, EMAIL_VERIFIED_EVENT, eventId)
      : undefined
    return { at: marked.at, campaigns }
  }

  async function budget(userId: string): Promise<number | undefined> {
    const r = await limiter.consume(`verify:ask:${userId}`, limits.requestsPerPerson, limits.requestWindowMs)
    return r.allowed ? undefined : r.retryAfter
  }

  /** A link to `user`'s address, in their locale (a campaign's catalog wording it when joining one). */
  async function sendLink(
    user: { id: string; email: string; locale: string | null },
    mail: NonNullable<EmailVerificationDeps['mail']>,
    campaign?: string,
  ) {
    const token = randomBytes(32).toString('base64url')
    const stored = await repo.storeVerifyToken(
      db,
      { userId: user.id, email: user.email, tokenHash: sha256(token) },
      VERIFY_TTL_MS,
    )
    // Verified, erased or their address changed since they were read: nothing to confirm.
    if (!stored) return
    const page = campaign && mail.campaignPage ? mail.campaignPage(campaign) : undefined
    const link = page ? `${page}#verify=${token}` : `${mail.verifyUrl}#token=${token}`
    await sendAccountMail(
      mail.mailer,
      VERIFY_MAIL,
      {
        to: user.email,
        locale: user.locale,
        prefix: 'mail.verify',
        values: { site: new URL(link).host, email: user.email, hours: VERIFY_TTL_MS / 3_600_000 },
        link,
        campaign,
      },
      deps,
    )
  }

  return {
    async request(principal, options = {}) {
      if (principal.kind !== 'user') {
        throw new ForbiddenError('Only a person signed in has an address to verify', 'PERSON_REQUIRED')
      }
      const mail = deps.mail
      if (!mail) {
        throw new ServiceUnavailableError(
          'This server sends no mail (SMTP_URL and PUBLIC_URL are not both set)',
          'MAIL_UNAVAILABLE',
        )
      }
      const user = await findById(db, principal.user_id)
      // Erased since the authenticator's last look: refused as their token now is.
      if (!user?.email || user.erased_at)
        throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
      const { campaign } = options
      // Else anyone's link could open, and be worded by, a campaign they never saw.
      if (campaign !== undefined && !(await findMembership(db, campaign, user.id)))
        throw new NotFoundError(`You have not joined the campaign ${campaign}`, 'NOT_A_MEMBER')
      if (user.email_verified_at) return 'already_verified'
      const wait = await budget(user.id)
      if (wait !== undefined) throw new TooManyRequestsError(wait, 'Too many verification mails asked for')
      background.run(sendLink({ id: user.id, email: user.email, locale: user.locale }, mail, campaign))
      return 'sent'
    },

    async verify(token, caller) {
      const r = await limiter.consume(
        `verify:use:${clientNetwork(caller.ip)}`,
        limits.usesPerNetwork,
        limits.useWindowMs,
      )
      if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many verification attempts')
      const tokenHash = sha256(token)
      const done = await db.transaction().execute(async (trx) => {
        const link = await repo.takeVerifyToken(trx, tokenHash)
        if (link) return { userId: link.user_id, ...(await confirm(trx, link.user_id, link.email)) }
        // A change's link confirms its new address, which becomes the person's.
        const changed = await deps.changes?.take(trx, tokenHash)
        if (!changed) return undefined
        return { userId: changed.userId, changed, ...(await confirm(trx, changed.userId, changed.email)) }
      })
      if (!done?.at) throw invalidLink()
      if (done.campaigns) told(done.userId, done.campaigns)
      if ('changed' in done) deps.changes?.changed(done.changed)
      return { email_verified_at: done.at }
    },

    async joining(trx, { campaign, user, newPerson, newMember }) {
      const email = user.email
      if (!email) return undefined
      // A join again reads no lock: its event was logged with the membership, or by the verification.
      const verifiedAt =
        newPerson || !newMember ? user.email_verified_at : await repo.lockVerifiedAt(trx, user.id)
      if (verifiedAt) {
        if (!newMember) return undefined
        const logged = await repo.logVerified(trx, user.id, EMAIL_VERIFIED_EVENT, eventId, campaign.slug)
        return logged.length > 0 ? { after: () => told(user.id, logged) } : undefined
      }
      const mail = deps.mail
      if (!mail || !verifiesAtJoin(campaign)) return undefined
      return {
        // Out of budget (joins again and again): no new one, but the links already sent still work.
        linkMailed: true,
        after: () =>
          background.run(
            (async () => {
              if ((await budget(user.id)) !== undefined) return
              await sendLink({ id: user.id, email, locale: user.locale }, mail, campaign.slug)
            })(),
          ),
      }
    },

    async proved(trx, userId, email) {
      const done = await confirm(trx, userId, email)
      await repo.forgetVerifyTokens(trx, userId)
      return () => {
        if (done?.campaigns) told(userId, done.campaigns)
      }
    },

    onVerified(hook) {
      hooks.push(hook)
    },

    forget: (userId, trx) => repo.forgetVerifyTokens(trx, userId),

    idle: background.idle,
  }
}
