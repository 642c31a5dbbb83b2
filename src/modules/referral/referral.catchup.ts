import { createPeriodic } from '../../platform/periodic.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import type { ClaimedMilestones } from './referral.milestones.js'
import type { PendingSweepDeps } from './referral.recheck.js'
import * as repo from './referral.repo.js'
import { AT_APPLY_RULES } from '../campaign/campaign.schema.js'
import { activeRule, qualifiesAtApply, referralRules } from './referral.rules.js'

/** How often each node catches up (ms); it also does once as it starts. */
export const CATCH_UP_SWEEP_MS = 30_000
/**
 * How far before the last catch-up's start its successor reads again (ms): an event's
 * `received_at` is the node's clock as the action arrived, before its commit, so an action that
 * committed just after a catch-up started may have arrived earlier (a commit batch's wait, a
 * node's clock a little behind the database's). Generous: reading again costs a few lookups.
 */
export const CATCH_UP_MARGIN_MS = 5 * 60_000
const BATCH_SIZE = 200
/** Why a referral qualified in a catch-up: the audit trail's `reason`. */
export const CATCH_UP_REASON = 'action_caught_up'

export interface CatchUpOptions {
  batchSize?: number
  sweepMs?: number
  marginMs?: number
}

/** As a recheck's, except that `settle` counts the campaign's `referrals_qualified` itself. */
export type CatchUpDeps = PendingSweepDeps

export interface CatchUp {
  /** Every campaign qualifying on an action, once: how many referrals qualified. */
  sweep(): Promise<number>
  /** Sweep now, then every `sweepMs` until `stop()`. */
  start(): void
  stop(): Promise<void>
}

/**
 * Qualifications lost after their action committed. A referral that qualifies on an action
 * (`quote.submit`, a tracked event) is qualified by the node that ran the action, after the
 * action's commit (`recordAction`): a node that dies in between, or a database call that fails
 * there, left it pending, and nothing looked again. The action's analytics event commits in the
 * action's own transaction: it is the durable mark that the person did it. Each node, as it
 * starts and then every `sweepMs`, reads per campaign whose rule is an action the pending
 * referrals whose person sent it since the last catch-up (less `marginMs`), and qualifies them as
 * `recordAction` would (counters, milestones once, audit with reason `action_caught_up`), in
 * batches, each one transaction holding the campaign's recheck row (`FOR UPDATE SKIP LOCKED`:
 * one node per campaign at a time, and never beside a recheck batch) and the batch's referrals
 * (a late `recordAction` waits, then finds them settled). Nothing is added to the action's path.
 *
 * Why the margin suffices: an event committed at C, received at R, is read by the first catch-up
 * that starts after C, which reads from the start S of the one before it, less the margin; S is
 * no later than C (else that one would have read it), so R is read when C - R <= margin.
 */
export function createCatchUp(deps: CatchUpDeps, options: CatchUpOptions = {}): CatchUp {
  const { db } = deps
  const batchSize = options.batchSize ?? BATCH_SIZE
  const sweepMs = options.sweepMs ?? CATCH_UP_SWEEP_MS
  const marginMs = options.marginMs ?? CATCH_UP_MARGIN_MS

  /** One batch; undefined when another node holds the campaign. `startedAt` is kept across batches. */
  async function batch(slug: string, run: { startedAt?: Date }) {
    const won: ClaimedMilestones[] = []
    const done = await db.transaction().execute(async (trx) => {
      const job = await repo.lockCatchUp(trx, slug)
      if (!job) return undefined
      // Everything committed before this transaction began is read below.
      run.startedAt ??= job.now
      const campaign = await repo.campaignNow(trx, slug, { share: true })
      const on = campaign && activeRule(campaign as Pick<Campaign, 'metadata'>)
      const rules = campaign && referralRules(campaign as Pick<Campaign, 'metadata'>)
      if (!on || !rules || qualifiesAtApply(rules)) {
        // Nothing qualifies on an action now; a rule change's recheck reads everything anyway.
        await repo.caughtUp(trx, slug, run.startedAt)
        return { qualified: 0, more: false }
      }
      const since = job.since && new Date(job.since.getTime() - marginMs)
      const rows = await repo.pendingWhoDidSince(trx, slug, deps.events(on), since, batchSize)
      // Referrers' counters in one order, as the recheck and concurrent qualifications lock them.
      rows.sort((a, b) =>
        a.referrer_id < b.referrer_id ? -1 : a.referrer_id > b.referrer_id ? 1 : a.id - b.id,
      )
      let qualified = 0
      for (const r of rows) if (await deps.settle(trx, slug, r, rules, won)) qualified++
      // Each row left `pending` (qualified, or rejected at max_referrals): the next read goes on.
      const more = rows.length === batchSize
      if (!more) await repo.caughtUp(trx, slug, run.startedAt)
      return { qualified, more }
    })
    await deps.announce(won)
    return done
  }

  async function campaign(slug: string): Promise<number> {
    const run: { startedAt?: Date } = {}
    let qualified = 0
    for (;;) {
      const done = await batch(slug, run)
      if (!done) return qualified
      qualified += done.qualified
      if (!done.more) return qualified
    }
  }

  async function sweep(): Promise<number> {
    let qualified = 0
    let after = ''
    for (;;) {
      // By the rule the recheck recorded; each batch reads the campaign's own.
      const slugs = await repo.campaignsOnActions(db, AT_APPLY_RULES, after, 100)
      for (const slug of slugs) {
        after = slug
        try {
          qualified += await campaign(slug)
        } catch (err) {
          // One campaign's failure is not the others': it is read again next time.
          deps.onError?.(err)
        }
      }
      if (slugs.length < 100) return qualified
    }
  }

  const periodic = createPeriodic(sweep, (err) => deps.onError?.(err), sweepMs)
  return {
    sweep,
    start() {
      void periodic.start()
    },
    stop: () => periodic.stop(),
  }
}
