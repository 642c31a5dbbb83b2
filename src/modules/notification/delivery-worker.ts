import { Counter, type Registry } from 'prom-client'
import type { EventBus } from '../../platform/bus/bus.js'
import { coalesce } from '../../platform/coalesce.js'
import type { Db } from '../../platform/db/database.js'
import type { SecretBox } from './secret-box.js'
import { createSender } from './sender.js'
import { signedHeaders } from './signing.js'
import { PrivateTargetError, resolveTarget } from './target-guard.js'
import * as repo from './webhook.repo.js'
import { announceEndpointGone, GONE } from './worker-channel.js'

export interface DeliveryWorkerOptions {
  pollMs: number
  timeoutMs: number
  retryBaseMs: number
  maxAttempts: number
  circuitThreshold: number
  circuitCooldownMs: number
  allowPrivate: boolean
  /** Rows leased per poll. */
  batchSize?: number
}

export interface DeliveryWorker {
  start(): void
  /** Stops polling and waits for the sends in flight. */
  stop(): Promise<void>
  /**
   * Poll now (after a commit that enqueued something) instead of at the next interval. New rows
   * are found by the fresh claim; rows made due again under their old ids (a replay, a recovery,
   * an endpoint enabled) only by a sweep: `sweep: true` asks the next pass for one.
   */
  nudge(options?: { sweep?: boolean }): void
  /** One claim-and-send pass over every due row (a sweep); returns how many rows it handled. */
  runOnce(): Promise<number>
  /** How long a claim holds a row: what `repo.enqueueMany` leases handed rows for. */
  readonly leaseMs: number
  /**
   * Send rows this node committed already claimed (`repo.enqueueMany` with `leaseMs`), once
   * their transaction committed: no claim statement, no wait for a poll. Rows it cannot take
   * (stopping, too many queued, their endpoint's circuit opened) go back to `pending` for any
   * worker's sweep; if this process dies first, their lease runs out and they come back too.
   */
  handoff(rows: HandedRow[]): void
  /**
   * Drops the handed rows still queued here about these subjects (erased people): their payload
   * in memory is the one erasure scrubbed from the database. Erasure has cancelled their rows.
   */
  forget(subjectIds: string[]): void
  /**
   * Gives back the handed rows still queued here for these endpoints (moved, re-keyed or
   * deleted since their rows were committed): a sweep sends them with the endpoint as it is now,
   * and nothing goes to a deleted one, whose rows are gone. A row handed after this call with the
   * endpoint read before the change (a commit in the same instant) is not caught.
   */
  requeue(webhookIds: string[]): void
  /**
   * Cancels the handed rows still queued here for these endpoints, with `reason` as their error:
   * another node's send was answered 410 Gone, and that node disabled the endpoint.
   */
  cancelQueued(webhookIds: string[], reason: string): void
}

/** A row written already claimed, with what sending it needs. */
export interface HandedRow extends repo.ClaimedRow {
  subject_id: string | null
  endpoint: repo.Endpoint
}

const MAX_RETRY_DELAY_MS = 6 * 60 * 60_000
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000

/**
 * Exponential backoff with ±25 % jitter, so endpoints that failed together do not retry together.
 * The jitter stays inside the 6 h bound: the delay it spreads is capped at 6 h / 1.25.
 */
export function backoffMs(attempt: number, baseMs: number, random = Math.random): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS / 1.25, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(Math.min(MAX_RETRY_DELAY_MS, exp * (0.75 + random() * 0.5)))
}

/**
 * How long to wait before retrying a failed attempt: the backoff, or the receiver's `Retry-After`
 * (capped at 24 h) when that is later. `Retry-After` only ever postpones a retry: `0`, a date
 * already past, or anything shorter than the backoff gets the backoff, so a receiver stuck
 * answering `503` with `Retry-After: 0` cannot spend every attempt within milliseconds.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  const backoff = backoffMs(attempt, baseMs, random)
  return retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(MAX_RETRY_AFTER_MS, retryAfterMs))
}

export function createDeliveryWorker(
  deps: {
    db: Db
    box: SecretBox
    registry?: Registry
    /** Tells the other nodes' workers of an endpoint a 410 disabled (see `worker-channel.ts`). */
    bus?: Pick<EventBus, 'publish'>
    onError?: (err: unknown) => void
  },
  options: DeliveryWorkerOptions,
): DeliveryWorker {
  const { db, box } = deps
  const batchSize = options.batchSize ?? 50
  // Longer than any single send, so a live worker's lease never expires under it.
  const leaseMs = Math.max(60_000, options.timeoutMs * 3)
  const breaker = { threshold: options.circuitThreshold, cooldownMs: options.circuitCooldownMs }
  // How long a half-open endpoint is held for its probe (see `repo.claimDue`): a send's timeout
  // and its address lookup. A probe outliving it (a hung lookup) is followed by a second one.
  const probeMs = options.timeoutMs + 5_000
  // Handed rows wait here for a send slot; at most `maxHandedInFlight` are being sent at once.
  const maxHandedInFlight = batchSize * 2
  // A quarter of the slots are kept from any one endpoint's sends, and endpoints take turns: a
  // slow receiver (answering within the timeout, so never tripping its breaker) cannot hold every
  // slot while the other endpoints' messages wait behind its queue.
  const maxInFlightPerEndpoint = maxHandedInFlight - Math.floor(maxHandedInFlight / 4)
  const maxQueued = 10_000
  // Per endpoint, in the order they were handed; the map's order is the endpoints' turns.
  const handed = new Map<string, Array<{ row: HandedRow; startBy: number }>>()
  let queued = 0
  const inFlight = new Map<string, number>()
  const sending = new Set<Promise<void>>()
  const sender = createSender()
  const outcomes = deps.registry
    ? ((deps.registry.getSingleMetric('ovasabi_webhook_deliveries_total') as
        | Counter<'outcome'>
        | undefined) ??
      new Counter({
        name: 'ovasabi_webhook_deliveries_total',
        help: 'Webhook delivery attempts by outcome (delivered, retry, failed, gone, refused)',
        labelNames: ['outcome'],
        registers: [deps.registry],
      }))
    : undefined

  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let again = false
  let stopped = true

  // Attempts finishing while a settlement is being written are settled together by the next one.
  const settle = coalesce(async (items: repo.Settlement[]) => {
    await repo.settleMany(db, items)
    return items.map(() => undefined)
  })

  // Endpoints this worker counted a failure for since it last saw one succeed: a success resets
  // their count even when the endpoint it was sent with was read before that failure.
  const failing = new Set<string>()

  // Endpoint secrets opened once, keyed by their sealed text (which a rotation changes).
  const secrets = new Map<string, string>()
  function openSecret(sealed: string): string {
    let secret = secrets.get(sealed)
    if (secret === undefined) {
      if (secrets.size >= 1000) secrets.clear()
      secret = box.open(sealed)
      secrets.set(sealed, secret)
    }
    return secret
  }

  async function deliver(row: repo.ClaimedRow, webhook: repo.Endpoint | undefined): Promise<void> {
    const finish = (status: number | null, error: string | null, durationMs: number, outcome: repo.Outcome) =>
      settle({
        id: row.id,
        webhook_id: row.webhook_id,
        attempt: row.attempts,
        outcome,
        log: { status_code: status, error, duration_ms: durationMs },
      })
    if (!webhook?.enabled) {
      return settle({
        id: row.id,
        webhook_id: row.webhook_id,
        attempt: row.attempts,
        outcome: { status: 'cancelled', error: 'endpoint disabled or deleted' },
      })
    }
    let target: Awaited<ReturnType<typeof resolveTarget>>
    try {
      target = await resolveTarget(webhook.url, options.allowPrivate)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (err instanceof PrivateTargetError) {
        // Policy, not a transient fault: retrying would only hit the same wall.
        outcomes?.inc({ outcome: 'refused' })
        await finish(null, message, 0, { status: 'failed', error: message })
        return
      }
      return finish(null, message, 0, await retryOrFail(row, message, undefined))
    }
    // The text stored at enqueue, never re-serialised: every attempt and replay sends the same bytes.
    const { body } = row
    // During their rotations' grace periods the rotated-out secrets sign too, one signature each.
    // One this server cannot open (sealed under another JWT_SECRET, which is why it was rotated
    // out) cannot sign anything: left out, it no longer holds back every send of the grace period.
    const secrets = [openSecret(webhook.secret_sealed)]
    for (const previous of repo.previousSecretsInGrace(webhook)) {
      try {
        secrets.push(openSecret(previous.sealed))
      } catch {}
    }
    const headers = signedHeaders(secrets, row.message_id, body)
    const result = await sender.send(target, headers, body, options.timeoutMs)
    const status = result.status ?? null
    if (result.status !== undefined && result.status >= 200 && result.status < 300) {
      outcomes?.inc({ outcome: 'delivered' })
      // Only an endpoint that was failing has anything to reset: as read with this row, or since
      // then by a send of this worker (a burst's sends all carry the endpoint read before any of
      // them was answered). Reset before the message reads as delivered.
      if (webhook.consecutive_failures > 0 || failing.has(row.webhook_id)) {
        failing.delete(row.webhook_id)
        await repo.recordEndpointResult(db, row.webhook_id, true, breaker)
        // A probe's success closed the circuit: what waited behind it goes now, not at the next sweep.
        sweepWanted = true
        if (!stopped) schedule(0)
      }
      await finish(status, null, result.durationMs, { status: 'delivered' })
      return
    }
    if (result.status === 410) {
      outcomes?.inc({ outcome: 'gone' })
      await repo.disableEndpoint(db, row.webhook_id, GONE)
      // What disableEndpoint does to the endpoint's pending rows, for those queued here, then on
      // every other node: theirs were handed with the endpoint still enabled.
      cancelQueued([row.webhook_id], GONE)
      if (deps.bus) await announceEndpointGone(deps.bus, [row.webhook_id]).catch((err) => deps.onError?.(err))
      await finish(status, null, result.durationMs, {
        status: 'failed',
        error: 'HTTP 410 Gone: endpoint disabled',
      })
      return
    }
    const error = result.error ?? `HTTP ${result.status}`
    // A 429 or 503 with Retry-After speaks for the receiver, not for this message alone.
    const throttled = result.status === 429 || result.status === 503
    return finish(
      status,
      result.error ?? null,
      result.durationMs,
      await retryOrFail(row, error, result.retryAfterMs, throttled),
    )
  }

  async function retryOrFail(row: repo.ClaimedRow, error: string, retryAfterMs?: number, throttled = false) {
    if (failing.size >= 10_000) failing.clear()
    failing.add(row.webhook_id)
    const pauseMs = throttled && retryAfterMs ? Math.min(MAX_RETRY_AFTER_MS, retryAfterMs) : 0
    if (await repo.recordEndpointResult(db, row.webhook_id, false, breaker, pauseMs)) {
      // The breaker opened: what is queued for this endpoint waits for it to close, like the rest.
      await release(takeQueued((q) => q.webhook_id === row.webhook_id))
    }
    if (row.attempts >= options.maxAttempts) {
      outcomes?.inc({ outcome: 'failed' })
      return { status: 'failed' as const, error }
    }
    outcomes?.inc({ outcome: 'retry' })
    const delay = retryDelayMs(row.attempts, options.retryBaseMs, retryAfterMs)
    return { status: 'pending' as const, nextAttemptAt: new Date(Date.now() + delay), error }
  }

  // Expired leases are rare (a worker died mid-send): looked for now and then, not every pass.
  const releaseEveryMs = Math.min(leaseMs / 2, 30_000)
  let releasedAt = 0

  // Fresh claims walk the primary key past `cursor`; a sweep over every due row runs first and
  // then once per poll interval (see repo.claimDue). Until a sweep has drained everything due up
  // to the last id it saw, the cursor does not move past rows it has not handled.
  let cursor = 0
  let sweptAt = Number.NEGATIVE_INFINITY
  // The last id a sweep in progress covers, fixed until it drains: under a steady stream of new
  // rows a bound read afresh each pass would keep the sweep (and its slow scan) going.
  let sweepUpTo: number | undefined
  // A sweep asked for by `nudge({ sweep: true })`, for the next pass that starts: a pass already
  // running may have looked before the rows became due, so its draining does not answer it.
  let sweepWanted = false

  async function claim(sweep: boolean): Promise<repo.ClaimedRow[]> {
    if (!sweep) {
      const rows = await repo.claimDue(db, batchSize, leaseMs, { sweep: false, after: cursor })
      for (const row of rows) if (row.id > cursor) cursor = row.id
      return rows
    }
    sweepUpTo ??= await repo.lastOutboxId(db)
    const upTo = sweepUpTo
    const rows = await repo.claimDue(db, batchSize, leaseMs, { sweep: true, upTo, probeMs })
    // Drained up to `upTo`: fresh claims take over from there. A full sweep goes on next pass.
    if (rows.length < batchSize) {
      sweptAt = Date.now()
      sweepUpTo = undefined
      if (upTo > cursor) cursor = upTo
    }
    return rows
  }

  async function pass(sweep = sweepWanted || Date.now() - sweptAt >= options.pollMs): Promise<number> {
    if (sweep) sweepWanted = false
    if (Date.now() - releasedAt >= releaseEveryMs) {
      releasedAt = Date.now()
      await repo.releaseExpiredLeases(db)
    }
    const rows = await claim(sweep)
    if (rows.length === 0) return 0
    const ids = [...new Set(rows.map((r) => r.webhook_id))]
    const webhooks = new Map(
      (await db.selectFrom('service_notification_webhook').selectAll().where('id', 'in', ids).execute()).map(
        (w) => [w.id, w],
      ),
    )
    await Promise.all(rows.map((row) => deliverSafely(row, webhooks.get(row.webhook_id))))
    return rows.length
  }

  /**
   * `deliver`, and when something unexpected failed on our side (a secret this server cannot open,
   * a database error), an attempt like any other: logged, retried with backoff, and `failed` after
   * `maxAttempts` rather than retried for ever. The endpoint's circuit is not charged with it.
   */
  function deliverSafely(row: repo.ClaimedRow, endpoint: repo.Endpoint | undefined): Promise<void> {
    return deliver(row, endpoint).catch((err) => {
      deps.onError?.(err)
      const error = `internal error: ${err instanceof Error ? err.message : String(err)}`
      return settle({
        id: row.id,
        webhook_id: row.webhook_id,
        attempt: row.attempts,
        outcome:
          row.attempts >= options.maxAttempts
            ? { status: 'failed', error }
            : {
                status: 'pending',
                nextAttemptAt: new Date(
                  Date.now() + retryDelayMs(row.attempts, options.retryBaseMs, undefined),
                ),
                error,
              },
        log: { status_code: null, error, duration_ms: 0 },
      }).catch(() => {})
    })
  }

  function release(rows: repo.ClaimedRow[]): Promise<void> {
    return repo
      .releaseLeases(
        db,
        rows.map((r) => ({ id: r.id, attempt: r.attempts })),
      )
      .catch((err) => deps.onError?.(err))
  }

  function cancelQueued(webhookIds: string[], reason: string) {
    const ids = new Set(webhookIds)
    for (const queued of takeQueued((q) => ids.has(q.webhook_id))) {
      void settle({
        id: queued.id,
        webhook_id: queued.webhook_id,
        attempt: queued.attempts,
        outcome: { status: 'cancelled', error: reason },
      }).catch(() => {})
    }
  }

  /** Removes and returns the handed rows still queued that `match` picks. */
  function takeQueued(match: (row: HandedRow) => boolean): HandedRow[] {
    const taken: HandedRow[] = []
    for (const [webhookId, queue] of handed) {
      const keep: typeof queue = []
      for (const q of queue) {
        if (match(q.row)) taken.push(q.row)
        else keep.push(q)
      }
      if (keep.length === queue.length) continue
      queued -= queue.length - keep.length
      // Deleting the entry being visited is safe in a Map; setting it keeps its turn.
      if (keep.length > 0) handed.set(webhookId, keep)
      else handed.delete(webhookId)
    }
    return taken
  }

  /** The next queued row of the first endpoint in turn with a slot left; it goes to the back. */
  function nextHanded(): { row: HandedRow; startBy: number } | undefined {
    for (const [webhookId, queue] of handed) {
      if ((inFlight.get(webhookId) ?? 0) >= maxInFlightPerEndpoint) continue
      const next = queue.shift()!
      queued--
      handed.delete(webhookId)
      if (queue.length > 0) handed.set(webhookId, queue)
      return next
    }
    return undefined
  }

  function pumpHanded() {
    while (sending.size < maxHandedInFlight && queued > 0) {
      const next = nextHanded()
      // Every endpoint with rows queued has its share of slots in use: one of its sends ending pumps.
      if (!next) return
      const { row, startBy } = next
      // A send started now could outlast the lease: leave the row to run out and be released.
      if (Date.now() > startBy) continue
      const webhookId = row.webhook_id
      inFlight.set(webhookId, (inFlight.get(webhookId) ?? 0) + 1)
      const send: Promise<void> = deliverSafely(row, row.endpoint).finally(() => {
        const left = (inFlight.get(webhookId) ?? 1) - 1
        if (left > 0) inFlight.set(webhookId, left)
        else inFlight.delete(webhookId)
        sending.delete(send)
        pumpHanded()
      })
      sending.add(send)
    }
  }

  function schedule(ms: number) {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(() => void tick(), ms)
    timer.unref()
  }

  async function tick(): Promise<void> {
    if (running) {
      again = true
      return
    }
    let handled = 0
    running = pass().catch((err) => {
      deps.onError?.(err)
      return 0
    })
    try {
      handled = await running
    } finally {
      running = undefined
    }
    // A full batch means more may be due: go again at once instead of waiting a poll interval.
    const more = again || handled >= batchSize
    again = false
    schedule(more ? 0 : options.pollMs)
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      schedule(0)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await release(takeQueued(() => true))
      await running?.catch(() => {})
      await Promise.all(sending)
      await sender.close()
    },
    nudge(nudgeOptions) {
      if (nudgeOptions?.sweep) sweepWanted = true
      if (!stopped) schedule(0)
    },
    runOnce: () => pass(true),
    leaseMs,
    forget(subjectIds) {
      const gone = new Set(subjectIds)
      takeQueued((q) => q.subject_id !== null && gone.has(q.subject_id))
    },
    cancelQueued,
    requeue(webhookIds) {
      const changed = new Set(webhookIds)
      const rows = takeQueued((q) => changed.has(q.webhook_id))
      if (rows.length > 0) void release(rows).then(() => schedule(0))
    },
    handoff(rows) {
      if (rows.length === 0) return
      if (stopped || queued + rows.length > maxQueued) {
        void release(rows)
        return
      }
      // The lease began at the commit, a moment ago; a send takes at most timeoutMs.
      const startBy = Date.now() + leaseMs - options.timeoutMs - 5_000
      for (const row of rows) {
        const queue = handed.get(row.webhook_id)
        if (queue) queue.push({ row, startBy })
        else handed.set(row.webhook_id, [{ row, startBy }])
      }
      queued += rows.length
      pumpHanded()
    },
  }
}
