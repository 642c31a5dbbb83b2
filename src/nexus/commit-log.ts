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
  /** What the request was (`requestFingerprint`): a later copy must match it to be a replay. */
  fingerprint: string
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
  /**
   * No request row at all: the request id is this server's, so no copy of the request can come
   * (see the dispatcher's `ActionKey`). Its event, counters and writes are committed as always.
   */
  keyless?: boolean
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
  // Each batch in flight adds to its own counter shard (see migration 008): batches sharing a
  // counter row would wait for each other's COMMIT, which serialised them.
  const freeShards = Array.from({ length: options.maxInFlight }, (_, i) => options.maxInFlight - 1 - i)
  const idle: Array<() => void> = []

  // While a batch is in flight, a batch that needs the transaction path (handler writes: a few
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
      const shard = freeShards.pop() ?? 0
      inFlight++
      void runBatch(batch, shard).finally(() => {
        freeShards.push(shard)
        inFlight--
        pump()
        if (inFlight === 0 && queue.length === 0) for (const done of idle.splice(0)) done()
      })
    }
  }

  /** One batch, committed: as one statement when it can be, else in a transaction. */
  async function write(jobs: CommitJob[], shard: number): Promise<Array<{ duplicate: boolean }>> {
    const ensured: string[] = []
    const results = fitsOneStatement(jobs)
      ? await writeRecords(db, jobs, known, ensured, shard)
      : await db.transaction().execute((trx) => writeBatch(trx, jobs, known, ensured, shard))
    known.add(ensured)
    return results
  }

  async function runBatch(batch: Pending[], shard: number) {
    try {
      const results = await write(
        batch.map((p) => p.job),
        shard,
      )
      for (const [i, p] of batch.entries()) p.resolve(results[i]!)
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err)
        return
      }
      for (const p of batch) {
        try {
          const [result] = await write([p.job], shard)
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

/** The batch's records (requests, events, sessions, counters) in one statement; see commit-statement.ts. */
async function writeRecords(
  db: Db,
  jobs: CommitJob[],
  known: KnownSessions,
  ensured: string[],
  shard: number,
): Promise<Array<{ duplicate: boolean }>> {
  const duplicate = new Array<boolean>(jobs.length).fill(false)
  const distinct = firstCopies(jobs, duplicate).map((i) => jobs[i]!)
  // Claimed records (immediate actions, rare) are completed by key, one by one: an UPDATE joined
  // to a recordset would be planned as a scan of the whole request table.
  for (const job of distinct.filter((j) => j.claimed)) {
    const r = job.request
    await db
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
  const sessions: Array<{ campaign_slug: string; actor: string; request_id: string; session_id: string }> = []
  const seen = new Set<string>()
  for (const job of distinct) {
    if (!job.session || !job.event) continue
    const key = sessionKey(job.session)
    if (known.has(key) || seen.has(key)) continue
    seen.add(key)
    sessions.push({
      campaign_slug: job.session.campaign_slug,
      session_id: job.session.session_id,
      actor: job.request.actor,
      request_id: job.request.request_id,
    })
  }
  const written = new Set((await writeStatement(db, distinct, sessions, shard)).map(keyOf))
  // Only the sessions of requests that were recorded were written.
  for (const s of sessions) if (written.has(keyOf(s))) ensured.push(sessionKey(s))
  jobs.forEach((job, i) => {
    if (!duplicate[i] && !written.has(keyOf(job.request))) duplicate[i] = true
  })
  return duplicate.map((d) => ({ duplicate: d }))
}

/** A batch with handler writes: its records, then those writes, in one transaction. */
async function writeBatch(
  trx: Db,
  jobs: CommitJob[],
  known: KnownSessions,
  ensured: string[],
  shard: number,
): Promise<Array<{ duplicate: boolean }>> {
  const results = await writeRecords(trx, jobs, known, ensured, shard)
  const live = jobs.filter((_, i) => !results[i]!.duplicate)
  // A grouped write may refine the answer its handler gave (see `deferGrouped`): noted as stored.
  const stored = new Map(
    live.filter((j) => j.grouped?.length).map((j) => [j, JSON.stringify(j.request.response)]),
  )
  for (const job of live) for (const write of job.writes) await write(trx)
  const groups = new Map<WriteGroup<unknown>, unknown[]>()
  for (const job of live) {
    for (const { group, item } of job.grouped ?? []) {
      const items = groups.get(group)
      if (items) items.push(item)
      else groups.set(group, [item])
    }
  }
  for (const [group, items] of groups) await group.write(trx, items, { counterShard: shard })
  for (const [job, before] of stored) {
    if (job.keyless) continue
    const after = JSON.stringify(job.request.response)
    if (after === before) continue
    const r = job.request
    await trx
      .updateTable('service_nexus_request')
      .set({ response: after })
      .where('campaign_slug', '=', r.campaign_slug)
      .where('actor', '=', r.actor)
      .where('request_id', '=', r.request_id)
      .execute()
  }
  return results
}
