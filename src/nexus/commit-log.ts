import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { GroupedWrite, WriteGroup } from './registry.js'
import { fitsOneStatement, writeStatement } from './commit-statement.js'

/** The idempotency record that acknowledges one action. */
export interface RequestRecord {
  campaign_slug: string
  actor: string
  request_id: string
  status_code: number
  response: unknown
  expires_at: Date
}

export interface EventRecord {
  event_id: string
  campaign_slug: string
  event: string
  user_id: string
  session_id: string
  payload: unknown
  metadata: unknown
  timestamp: string
  received_at: string
}

/** Everything one action commits, together: its acknowledgement, its analytics event, its effects. */
export interface CommitJob {
  request: RequestRecord
  /** The request row already exists as `pending` (claimed before an `immediate` handler ran). */
  claimed: boolean
  event?: EventRecord
  counters: Record<string, number>
  session?: { campaign_slug: string; session_id: string }
  writes: Array<(trx: Db) => Promise<void>>
  /** `ctx.deferGrouped` items: one call per group for the whole batch, after `writes`. */
  grouped?: GroupedWrite[]
}

export interface CommitLog {
  /** Resolves after the job's transaction committed; `duplicate` when the request id was already recorded. */
  commit(job: CommitJob): Promise<{ duplicate: boolean }>
  /** Waits for queued jobs; used at shutdown. */
  flush(): Promise<void>
}

interface Pending {
  job: CommitJob
  resolve: (v: { duplicate: boolean }) => void
  reject: (e: unknown) => void
}

const keyOf = (r: { campaign_slug: string; actor: string; request_id: string }) =>
  `${r.campaign_slug}\u0000${r.actor}\u0000${r.request_id}`

/**
 * Group commit: concurrent actions share one transaction and multi-row INSERTs, and each caller
 * is answered only after that transaction committed. A batch that fails is retried job by job,
 * so one bad job never fails the others.
 */
export function createCommitLog(
  db: Db,
  options: { maxInFlight: number; maxBatch?: number; minBatch?: number },
): CommitLog {
  const maxBatch = options.maxBatch ?? 500
  const minBatch = options.minBatch ?? 10
  const known = new KnownSessions(50_000)
  const queue: Pending[] = []
  let inFlight = 0
  const idle: Array<() => void> = []

  // While a batch is in flight, a batch that needs the transaction path (handler writes: ~9
  // round trips whatever its size) starts only once `minBatch` jobs wait: batches of one taking
  // the free slots as requests trickled in left the rest queuing behind them. One-statement
  // batches (one round trip) start at once as before. Nothing waits longer than the batch in
  // flight: when it ends, pump runs again and starts whatever is queued.
  function pump() {
    while (
      inFlight < options.maxInFlight &&
      queue.length > 0 &&
      (inFlight === 0 || queue.length >= minBatch || fitsOneStatement([queue[0]!.job]))
    ) {
      const batch = queue.splice(0, maxBatch)
      inFlight++
      void runBatch(batch).finally(() => {
        inFlight--
        pump()
        if (inFlight === 0 && queue.length === 0) for (const done of idle.splice(0)) done()
      })
    }
  }

  /** One batch, committed: as one statement when it can be, else in a transaction. */
  async function write(jobs: CommitJob[]): Promise<Array<{ duplicate: boolean }>> {
    const ensured: string[] = []
    const results = fitsOneStatement(jobs)
      ? await writeFresh(db, jobs, known, ensured)
      : await db.transaction().execute((trx) => writeBatch(trx, jobs, known, ensured))
    known.add(ensured)
    return results
  }

  async function runBatch(batch: Pending[]) {
    try {
      const results = await write(batch.map((p) => p.job))
      for (const [i, p] of batch.entries()) p.resolve(results[i]!)
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err)
        return
      }
      for (const p of batch) {
        try {
          const [result] = await write([p.job])
          p.resolve(result!)
        } catch (e) {
          p.reject(e)
        }
      }
    }
  }

  return {
    commit(job) {
      return new Promise((resolve, reject) => {
        queue.push({ job, resolve, reject })
        pump()
      })
    },
    flush() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve()
      return new Promise((resolve) => idle.push(resolve))
    },
  }
}

/**
 * Sessions this process saw committed in `service_campaign_session`. A session sends many events,
 * and its row never changes once written, so the insert (ON CONFLICT DO NOTHING, which counts
 * `sessions` only for new rows) is skipped for a known one. Bounded: the oldest are forgotten.
 */
class KnownSessions {
  private readonly keys = new Set<string>()
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.keys.has(key)
  }
  /** Only after the transaction that wrote (or found) these rows committed. */
  add(keys: string[]) {
    for (const key of keys) {
      this.keys.delete(key)
      this.keys.add(key)
      if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!)
    }
  }
}

const sessionKey = (s: { campaign_slug: string; session_id: string }) =>
  `${s.campaign_slug}\u0000${s.session_id}`

/** Marks repeats of a key within the batch as duplicates; returns the indexes of first copies. */
function firstCopies(jobs: CommitJob[], duplicate: boolean[]): number[] {
  const seen = new Set<string>()
  const first: number[] = []
  jobs.forEach((job, i) => {
    const key = keyOf(job.request)
    if (seen.has(key)) duplicate[i] = true
    else {
      seen.add(key)
      first.push(i)
    }
  })
  return first
}

/** The one-statement path (see commit-statement.ts) for batches of unclaimed jobs without handler writes. */
async function writeFresh(
  db: Db,
  jobs: CommitJob[],
  known: KnownSessions,
  ensured: string[],
): Promise<Array<{ duplicate: boolean }>> {
  const duplicate = new Array<boolean>(jobs.length).fill(false)
  const fresh = firstCopies(jobs, duplicate).map((i) => jobs[i]!)
  const sessions: Array<{ campaign_slug: string; actor: string; request_id: string; session_id: string }> = []
  for (const job of fresh) {
    if (job.session && !known.has(sessionKey(job.session)))
      sessions.push({ ...job.session, actor: job.request.actor, request_id: job.request.request_id })
  }
  const won = new Set((await writeStatement(db, fresh, sessions)).map(keyOf))
  // Only the sessions of requests that were recorded were written.
  for (const s of sessions) if (won.has(keyOf(s))) ensured.push(sessionKey(s))
  jobs.forEach((job, i) => {
    if (!duplicate[i] && !won.has(keyOf(job.request))) duplicate[i] = true
  })
  return duplicate.map((d) => ({ duplicate: d }))
}

async function writeBatch(
  trx: Db,
  jobs: CommitJob[],
  known: KnownSessions,
  ensured: string[],
): Promise<Array<{ duplicate: boolean }>> {
  const duplicate = new Array<boolean>(jobs.length).fill(false)
  const fresh = firstCopies(jobs, duplicate).filter((i) => !jobs[i]!.claimed)

  if (fresh.length > 0) {
    const inserted = await trx
      .insertInto('service_nexus_request')
      .values(
        fresh.map((i) => {
          const r = jobs[i]!.request
          return {
            campaign_slug: r.campaign_slug,
            actor: r.actor,
            request_id: r.request_id,
            status: 'done' as const,
            status_code: r.status_code,
            response: JSON.stringify(r.response),
            expires_at: r.expires_at,
          }
        }),
      )
      .onConflict((oc) => oc.columns(['campaign_slug', 'actor', 'request_id']).doNothing())
      .returning(['campaign_slug', 'actor', 'request_id'])
      .execute()
    const won = new Set(inserted.map(keyOf))
    for (const i of fresh) if (!won.has(keyOf(jobs[i]!.request))) duplicate[i] = true
  }

  const live = jobs.filter((_, i) => !duplicate[i])
  for (const job of live.filter((j) => j.claimed)) {
    const r = job.request
    await trx
      .updateTable('service_nexus_request')
      .set({
        status: 'done',
        status_code: r.status_code,
        response: JSON.stringify(r.response),
        expires_at: r.expires_at,
      })
      .where('campaign_slug', '=', r.campaign_slug)
      .where('actor', '=', r.actor)
      .where('request_id', '=', r.request_id)
      .execute()
  }

  const events = live.flatMap((j) => (j.event ? [j.event] : []))
  if (events.length > 0) {
    await trx
      .insertInto('service_analytics_event')
      .values(
        events.map((e) => ({
          ...e,
          payload: JSON.stringify(e.payload ?? null),
          metadata: JSON.stringify(e.metadata ?? {}),
        })),
      )
      .execute()
  }

  const counters = new Map<string, number>()
  const bump = (campaign: string, name: string, by: number) => {
    const k = `${campaign}\u0000${name}`
    counters.set(k, (counters.get(k) ?? 0) + by)
  }
  for (const job of live)
    for (const [name, by] of Object.entries(job.counters)) bump(job.request.campaign_slug, name, by)

  const unknown = new Map<string, { campaign_slug: string; session_id: string }>()
  for (const j of live) {
    if (!j.session) continue
    const k = sessionKey(j.session)
    if (!known.has(k)) unknown.set(k, j.session)
  }
  const sessions = [...unknown.values()]
  if (sessions.length > 0) {
    ensured.push(...unknown.keys())
    const added = await trx
      .insertInto('service_campaign_session')
      .values(sessions)
      .onConflict((oc) => oc.columns(['campaign_slug', 'session_id']).doNothing())
      .returning(['campaign_slug'])
      .execute()
    for (const row of added) bump(row.campaign_slug, 'sessions', 1)
  }

  for (const job of live) for (const write of job.writes) await write(trx)
  const groups = new Map<WriteGroup<unknown>, unknown[]>()
  for (const job of live) {
    for (const { group, item } of job.grouped ?? []) {
      const items = groups.get(group)
      if (items) items.push(item)
      else groups.set(group, [item])
    }
  }
  for (const [group, items] of groups) await group.write(trx, items)
  // Counters last: every batch updates the same counter rows, and their row locks are held until
  // COMMIT, so taking them after the handler writes keeps concurrent batches from queuing on them.
  if (counters.size > 0) {
    const rows = [...counters]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, count]) => {
        const [campaign_slug, name] = k.split('\u0000') as [string, string]
        return { campaign_slug, name, count }
      })
    await trx
      .insertInto('service_campaign_counter')
      .values(rows)
      .onConflict((oc) =>
        oc
          .columns(['campaign_slug', 'name'])
          .doUpdateSet({ count: sql`service_campaign_counter.count + excluded.count` }),
      )
      .execute()
  }

  return duplicate.map((d) => ({ duplicate: d }))
}
