import type { Db } from '../../platform/db/database.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { UserService } from '../user/user.service.js'
import { claimUnannounced, type MilestoneRow, markAnnounced } from './referral.repo.js'
import type { MilestoneEvent } from './referral.schema.js'

/** How long a milestone's claimant has to announce it before any node's sweep may (ms). */
export const MILESTONE_LEASE_MS = 30_000
/** How often each node looks for milestones committed but never announced (ms). */
export const MILESTONE_SWEEP_MS = 10_000
const BATCH_SIZE = 100

export interface MilestoneAnnouncerDeps {
  db: Db
  users: Pick<UserService, 'displayNames'>
  publisher: RealtimePublisher
  onError?: (err: unknown) => void
}

export interface MilestoneAnnouncerOptions {
  leaseMs?: number
  sweepMs?: number
  batchSize?: number
}

/** Milestone rows this node holds the lease of. */
export interface ClaimedMilestones {
  rows: MilestoneRow[]
  /** `Date.now()` before the statement that leased them: the lease ends no earlier than this + lease. */
  claimedAt: number
}

export interface MilestoneAnnouncer {
  readonly leaseMs: number
  /**
   * Announce milestones this node holds the lease of (as the request that reached them commits,
   * or a sweep). Never throws: what did not go out stays unannounced for a sweep, in order.
   * Returns how many `referral.milestone` events went out.
   */
  announce(claimed: ClaimedMilestones): Promise<number>
  /** One sweep: lease what nobody announced within its lease, and announce it. */
  sweep(): Promise<number>
  /** Sweep every `sweepMs` until `stop()`. */
  start(): void
  stop(): Promise<void>
}

const byReached = (a: MilestoneRow, b: MilestoneRow) =>
  new Date(a.reached_at).getTime() - new Date(b.reached_at).getTime() || a.threshold - b.threshold

/**
 * `referral.milestone` announcements that survive a crash or a failed publish. The milestone row
 * commits with the referral, unannounced and leased to the request for `leaseMs`; that request
 * announces it after commit and marks it. Whatever is still unannounced when its lease runs out (a
 * publish or a lookup failed, the node died) is leased by a sweep on any node and announced then.
 *
 * Once in the normal case: a sweep takes a row only after its lease ran out, and an announcement
 * not started within half its lease is left to the sweep instead of racing it. At least once
 * otherwise: a node that dies after publishing but before marking, or a publish that failed on
 * our side after Redis took it (a timeout), is announced again by the sweep.
 */
export function createMilestoneAnnouncer(
  deps: MilestoneAnnouncerDeps,
  options: MilestoneAnnouncerOptions = {},
): MilestoneAnnouncer {
  const leaseMs = options.leaseMs ?? MILESTONE_LEASE_MS
  const sweepMs = options.sweepMs ?? MILESTONE_SWEEP_MS
  const batchSize = options.batchSize ?? BATCH_SIZE

  function publish(row: MilestoneRow, name: string) {
    const { threshold } = row
    return deps.publisher.publish(
      { scope: 'campaign', campaign: row.campaign_slug },
      {
        type: 'campaign_event',
        campaign_id: row.campaign_slug,
        event: 'referral.milestone',
        payload: {
          user_display_name: name,
          count: row.count,
          threshold,
          message: `${name} now has ${threshold} referral${threshold === 1 ? '' : 's'}`,
        } satisfies MilestoneEvent,
        timestamp: new Date(row.reached_at).toISOString(),
      },
      [row.user_id],
    )
  }

  async function announce({ rows, claimedAt }: ClaimedMilestones): Promise<number> {
    if (rows.length === 0) return 0
    // A publish started later could outlast the lease, and a sweep announce the row as well.
    const startBy = claimedAt + leaseMs / 2
    let names: Map<string, string>
    try {
      names = await deps.users.displayNames([...new Set(rows.map((r) => r.user_id))])
    } catch (err) {
      deps.onError?.(err)
      return 0
    }
    let announced = 0
    // A person's thresholds go out in order: after one fails, their later ones wait for the sweep.
    const stalled = new Set<string>()
    for (const row of [...rows].sort(byReached)) {
      const person = `${row.campaign_slug}\u0000${row.user_id}`
      if (stalled.has(person)) continue
      const name = names.get(row.user_id)
      try {
        // No name: the referrer was erased meanwhile, and there is nothing left to announce.
        if (name !== undefined) {
          if (Date.now() > startBy) return announced
          await publish(row, name)
          announced++
        }
        await markAnnounced(deps.db, row)
      } catch (err) {
        deps.onError?.(err)
        stalled.add(person)
      }
    }
    return announced
  }

  async function sweepOnce(): Promise<{ claimed: number; announced: number }> {
    const claimedAt = Date.now()
    const rows = await claimUnannounced(deps.db, batchSize, leaseMs)
    return { claimed: rows.length, announced: await announce({ rows, claimedAt }) }
  }

  let stopped = true
  let timer: NodeJS.Timeout | undefined
  let running: Promise<boolean> | undefined

  function schedule(ms: number) {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(() => void tick(), ms)
    timer.unref()
  }

  async function tick() {
    running = sweepOnce().then(
      (r) => r.claimed >= batchSize,
      (err) => {
        deps.onError?.(err)
        return false
      },
    )
    // A full batch means more may be due: go again at once.
    const more = await running
    running = undefined
    schedule(more ? 0 : sweepMs)
  }

  return {
    leaseMs,
    announce,
    sweep: async () => (await sweepOnce()).announced,
    start() {
      if (!stopped) return
      stopped = false
      schedule(sweepMs)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
