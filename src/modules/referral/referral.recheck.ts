import type { Db } from '../../platform/db/database.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import type { ClaimedMilestones } from './referral.milestones.js'
import * as repo from './referral.repo.js'
import { activeRule, qualifiesAtApply, type ReferralRules, referralRules } from './referral.rules.js'

/** How long after a rule change its second pass runs: every node's cached campaign has the new rule by then (ms). */
export const RECHECK_SETTLE_MS = 60_000
/** How often each node looks for campaigns whose rule changed unseen, and passes due (ms). */
export const RECHECK_SWEEP_MS = 10_000
/** Pending referrals per batch: each batch is one short transaction. */
const BATCH_SIZE = 200
/** Why a referral qualified in a recheck: the audit trail's `reason`. */
export const RECHECK_REASON = 'rules_changed'

export interface RecheckOptions {
  batchSize?: number
  settleMs?: number
  sweepMs?: number
}

/** A pending referral, row-locked in the caller's transaction. */
export interface LockedPending {
  id: number
  code: string
  referrer_id: string
}

/**
 * What a sweep over pending referrals needs from the referral service: the names an action
 * satisfying a rule is logged under (see `ruleEvents`), a way to qualify (or reject at
 * `max_referrals`) one locked referral inside the sweep's transaction (true when it qualified;
 * milestones it claims go to `won`), and the announcement of those milestones after the commit.
 */
export interface PendingSweepDeps {
  db: Db
  events: (on: string) => string[]
  settle: (
    trx: Db,
    slug: string,
    pending: LockedPending,
    rules: ReferralRules,
    won: ClaimedMilestones[],
  ) => Promise<boolean>
  announce: (won: ClaimedMilestones[]) => Promise<void>
  onError?: (err: unknown) => void
}

/** A recheck's `settle` leaves out the campaign's `referrals_qualified`, which the batch adds once. */
export interface RecheckDeps extends PendingSweepDeps {
  /** Reject (reason `erased`) the pending referral of a person erased, inside `trx`. */
  dropErased: (trx: Db, slug: string, pending: LockedPending) => Promise<void>
  addQualified: (trx: Db, slug: string, n: number) => Promise<void>
}

export interface Rechecker {
  /** The campaign may have changed: record its rule, and run what that made due. */
  look(slug: string): Promise<number>
  /** Campaigns changed unseen, and every pass due: how many referrals qualified. */
  sweep(): Promise<number>
  start(): void
  stop(): Promise<void>
}

/**
 * Pending referrals checked again when the campaign's rule changes (`referral_qualifies_on`, or
 * the `referral` feature back on): those whose person satisfies the new rule qualify, as at any
 * qualification (counters, milestones once, audit with reason `rules_changed`); the others wait
 * under it. In batches of `batchSize`, each its own transaction holding the recheck row (`SKIP
 * LOCKED`: one node per campaign at a time), the campaign row (shared: a change waits for the
 * batch) and the batch's referrals (a qualifying action waits, then finds them settled).
 */
export function createRechecker(deps: RecheckDeps, options: RecheckOptions = {}): Rechecker {
  const { db } = deps
  const batchSize = options.batchSize ?? BATCH_SIZE
  const settleMs = options.settleMs ?? RECHECK_SETTLE_MS
  const sweepMs = options.sweepMs ?? RECHECK_SWEEP_MS

  async function record(slug: string): Promise<boolean> {
    const campaign = await repo.campaignNow(db, slug)
    if (!campaign) return false
    return repo.recordRule(db, slug, campaign.version, activeRule(campaign as Pick<Campaign, 'metadata'>))
  }

  /** One batch; undefined when no pass is due or another node holds it. */
  async function batch(slug: string): Promise<{ qualified: number; more: boolean } | undefined> {
    const won: ClaimedMilestones[] = []
    const done = await db.transaction().execute(async (trx) => {
      const job = await repo.lockRecheck(trx, slug)
      if (!job) return undefined
      const campaign = await repo.campaignNow(trx, slug, { share: true })
      if (!campaign) {
        await repo.advanceRecheck(trx, slug, null, settleMs)
        return { qualified: 0, more: false }
      }
      const on = activeRule(campaign as Pick<Campaign, 'metadata'>)
      if (on !== job.qualifies_on) {
        // Changed again since: start over under the rule now (a look at it would do the same).
        return { qualified: 0, more: await repo.recordRule(trx, slug, campaign.version, on) }
      }
      if (on === null) {
        await repo.advanceRecheck(trx, slug, null, settleMs)
        return { qualified: 0, more: false }
      }
      const rules = referralRules(campaign as Pick<Campaign, 'metadata'>)
      const rows = await repo.pendingAfter(trx, slug, Number(job.after_id), batchSize)
      // A person erased qualifies under no rule: rejected (those erased before erasure did so).
      const living = rows.filter((r) => !r.erased)
      const satisfied = qualifiesAtApply(rules)
        ? undefined
        : await repo.whoDid(
            trx,
            slug,
            living.map((r) => r.referred_id),
            deps.events(on),
          )
      // Referrers' counters in one order: a concurrent qualification locks them the same way.
      const due = rows
        .filter((r) => r.erased || !satisfied || satisfied.has(r.referred_id))
        .sort((a, b) =>
          a.referrer_id < b.referrer_id ? -1 : a.referrer_id > b.referrer_id ? 1 : a.id - b.id,
        )
      let qualified = 0
      for (const r of due) {
        if (r.erased) await deps.dropErased(trx, slug, r)
        else if (await deps.settle(trx, slug, r, rules, won)) qualified++
      }
      await deps.addQualified(trx, slug, qualified)
      const more = rows.length === batchSize
      await repo.advanceRecheck(trx, slug, more ? rows[rows.length - 1]!.id : null, settleMs)
      return { qualified, more: more || job.passes_left > 1 }
    })
    await deps.announce(won)
    return done
  }

  /** Batches of the campaign until nothing is due now (or another node holds it). */
  async function drain(slug: string): Promise<number> {
    let qualified = 0
    for (;;) {
      const done = await batch(slug)
      if (!done) return qualified
      qualified += done.qualified
      if (!done.more) return qualified
    }
  }

  async function sweepOnce(): Promise<number> {
    for (;;) {
      const changed = await repo.campaignsToLookAt(db, 100)
      for (const slug of changed) await record(slug)
      if (changed.length < 100) break
    }
    let qualified = 0
    for (;;) {
      const due = await repo.dueRechecks(db, 100)
      let failed = false
      for (const slug of due) {
        try {
          qualified += await drain(slug)
        } catch (err) {
          // One campaign's failure is not the others': it stays due (first in line, the oldest),
          // and is tried again next sweep, after the rest of this one.
          deps.onError?.(err)
          failed = true
        }
      }
      // A failed one is still due: reading the list again now would only find it again.
      if (due.length < 100 || failed) return qualified
    }
  }

  let stopped = true
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined

  function schedule() {
    if (stopped) return
    timer = setTimeout(() => {
      running = sweepOnce()
        .catch((err) => deps.onError?.(err))
        .finally(() => {
          running = undefined
          schedule()
        })
    }, sweepMs)
    timer.unref()
  }

  return {
    async look(slug) {
      await record(slug)
      return drain(slug)
    },
    sweep: sweepOnce,
    start() {
      if (!stopped) return
      stopped = false
      schedule()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
