import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { prepared } from '../../platform/db/prepared.js'
import type { OutboxStatus } from '../../platform/db/tables.js'
import { storedBody } from './stored-body.js'

export type WebhookRow = Awaited<ReturnType<typeof findWebhook>> & {}

/**
 * Inserts the endpoint unless its campaign has `max` already (then undefined). Registrations of
 * one campaign take turns (an advisory lock until the commit), so concurrent ones cannot each
 * count `max - 1` and all pass.
 */
export async function insertWebhook(
  db: Db,
  row: {
    id: string
    campaign_slug: string
    url: string
    events: string[]
    description: string
    secret_sealed: string
    created_by: string
  },
  max: number,
) {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks:${row.campaign_slug}`}, 0))`.execute(
      trx,
    )
    const { n } = await trx
      .selectFrom('service_notification_webhook')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('campaign_slug', '=', row.campaign_slug)
      .executeTakeFirstOrThrow()
    if (Number(n) >= max) return undefined
    return trx
      .insertInto('service_notification_webhook')
      .values({ ...row, events: JSON.stringify(row.events) })
      .returningAll()
      .executeTakeFirstOrThrow()
  })
}

/** The endpoint; `forUpdate` locks its row to the caller's transaction (a rotation). */
export function findWebhook(db: Db, campaign: string, id: string, forUpdate = false) {
  const q = db
    .selectFrom('service_notification_webhook')
    .selectAll()
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
  return (forUpdate ? q.forUpdate() : q).executeTakeFirst()
}

export function listWebhooks(db: Db, campaign: string) {
  return db
    .selectFrom('service_notification_webhook')
    .selectAll()
    .where('campaign_slug', '=', campaign)
    .orderBy('created_at')
    .execute()
}

/**
 * Of `ids`, the endpoints whose half-open probe is out right now: a row `claimDue` marked as the
 * probe, `sending`, its lease running. A send that was already in flight when the circuit opened
 * is no probe, and does not count.
 */
export async function endpointsProbing(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db
    .selectFrom('service_notification_outbox')
    .select('webhook_id')
    .distinct()
    .where('webhook_id', 'in', ids)
    .where('status', '=', 'sending')
    .where('probe', '=', true)
    .where('lease_until', '>', sql<Date>`now()`)
    .execute()
  return new Set(rows.map((r) => r.webhook_id))
}

export async function deleteWebhook(db: Db, campaign: string, id: string): Promise<boolean> {
  const res = await db
    .deleteFrom('service_notification_webhook')
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(res.numDeletedRows) > 0
}

export function updateWebhook(
  db: Db,
  campaign: string,
  id: string,
  patch: {
    url?: string
    /** JSON text of the event list. */
    events?: string
    description?: string
    secret_sealed?: string
    previous_secret_sealed?: string | null
    previous_secret_expires_at?: Date | null
    /** JSON text of the older secrets in grace (`PreviousSecret[]`). */
    older_secrets?: string
    enabled?: boolean
    disabled_reason?: string | null
    disabled_at?: Date | null
    consecutive_failures?: number
    circuit_open_until?: Date | null
  },
) {
  return db
    .updateTable('service_notification_webhook')
    .set({ ...patch, updated_at: new Date() })
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

/** What a send needs to know about its endpoint. */
export type Endpoint = Pick<
  WebhookRow,
  | 'id'
  | 'url'
  | 'enabled'
  | 'secret_sealed'
  | 'previous_secret_sealed'
  | 'previous_secret_expires_at'
  | 'older_secrets'
  | 'consecutive_failures'
>

/** A rotated-out secret, sealed, and until when it signs beside the current one. */
export interface PreviousSecret {
  sealed: string
  expires_at: Date
}

/**
 * Every rotated-out secret still in its grace period, newest first: the one the last rotation
 * replaced (`previous_secret_*`), then the older ones (`older_secrets`).
 */
export function previousSecretsInGrace(
  w: Pick<Endpoint, 'previous_secret_sealed' | 'previous_secret_expires_at' | 'older_secrets'>,
  now = new Date(),
): PreviousSecret[] {
  const all: PreviousSecret[] = []
  if (w.previous_secret_sealed && w.previous_secret_expires_at) {
    all.push({ sealed: w.previous_secret_sealed, expires_at: w.previous_secret_expires_at })
  }
  for (const s of w.older_secrets ?? []) all.push({ sealed: s.sealed, expires_at: new Date(s.expires_at) })
  return all.filter((s) => s.expires_at > now)
}

/** A row `enqueueMany` wrote already claimed (its first attempt leased), for this node's worker. */
export interface LeasedRow {
  id: number
  message_id: string
  webhook_id: string
  /** The body text as stored: what every attempt sends. */
  body: string
  endpoint: Endpoint
}

/** Why a message for a disabled endpoint was recorded without being sent (see `enqueueMany`). */
export const DISABLED_AT_ENQUEUE = 'endpoint disabled when the event happened'

/**
 * `enqueue` for several events in one statement; rows keep the events' order. Each payload is
 * stored as jsonb, and the body of every attempt is that jsonb as a worker reads it back (the first
 * one, sent from here, included: see `storedBody`), so every attempt and replay, on any node,
 * sends the same bytes. An endpoint
 * disabled at the time gets its row too, `cancelled` with `DISABLED_AT_ENQUEUE` (and the reason it
 * is disabled) as its error, and a delivery log line (attempt 0, no request) saying so: nothing
 * is sent, but the message shows in its log, and a replay or a recovery sends it once the
 * endpoint is enabled again; retention removes both like any finished message. With `leaseMs`
 * the rows are written already claimed, `sending` with their first attempt leased, and returned
 * with their endpoint so the worker of the node that committed them sends them at once (see
 * `DeliveryWorker.handoff`): no claim statement and no second update of each row. Rows for an
 * endpoint whose circuit is open, or half-open (its probe goes first: see `claimDue`), are
 * written `pending` and left to the worker's sweep.
 */
export async function enqueueMany(
  trx: Db,
  events: Array<{
    messageId: string
    campaign: string
    event: string
    subjectId: string | null
    payload: object
  }>,
  leaseMs?: number,
): Promise<LeasedRow[]> {
  if (events.length === 0) return []
  const bodies = new Map<string, string>()
  const rows = events.map((e, i) => {
    // The body every attempt sends: the stored jsonb as a worker reads it back (see storedBody).
    const payload = storedBody(e.payload)
    bodies.set(e.messageId, payload)
    return {
      i,
      message_id: e.messageId,
      campaign: e.campaign,
      event: e.event,
      subject_id: e.subjectId,
      payload,
    }
  })
  const res = await sql<{
    id: string
    message_id: string
    webhook_id: string
    url: string
    secret_sealed: string
    previous_secret_sealed: string | null
    previous_secret_expires_at: Date | null
    older_secrets: Endpoint['older_secrets']
    consecutive_failures: number
  }>`
    ${prepared('outbox-enqueue-many')} with ins as (
      insert into service_notification_outbox
        (message_id, webhook_id, campaign_slug, event, subject_id, payload, status, attempts, lease_until,
         last_error)
      select e.message_id, w.id, w.campaign_slug, e.event, e.subject_id, e.payload::jsonb,
        case when not w.enabled then 'cancelled' when c.leased then 'sending' else 'pending' end,
        case when c.leased then 1 else 0 end,
        case when c.leased then now() + ${leaseMs ?? null}::int * interval '1 millisecond' end,
        case when not w.enabled
          then ${DISABLED_AT_ENQUEUE} || ' (' || coalesce(w.disabled_reason, 'by an admin') || ')' end
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as e(i int, message_id text, campaign text, event text, subject_id text, payload text)
      join service_notification_webhook w on w.campaign_slug = e.campaign
        and (w.events @> jsonb_build_array(e.event) or w.events @> '["*"]'::jsonb)
      cross join lateral (
        select ${leaseMs ?? null}::int is not null and w.enabled and w.circuit_open_until is null as leased
      ) c
      order by e.i, w.id
      returning id, message_id, webhook_id, status, last_error
    ),
    skipped as (
      insert into service_notification_delivery (outbox_id, webhook_id, attempt, status_code, error, duration_ms)
      select id, webhook_id, 0, null, last_error, 0 from ins where status = 'cancelled'
    )
    select ins.id, ins.message_id, ins.webhook_id, w.url, w.secret_sealed, w.previous_secret_sealed,
      w.previous_secret_expires_at, w.older_secrets, w.consecutive_failures
    from ins join service_notification_webhook w on w.id = ins.webhook_id
    where ins.status = 'sending'
  `.execute(trx)
  return res.rows.map((r) => ({
    id: Number(r.id),
    message_id: r.message_id,
    webhook_id: r.webhook_id,
    body: bodies.get(r.message_id)!,
    endpoint: {
      id: r.webhook_id,
      url: r.url,
      enabled: true,
      secret_sealed: r.secret_sealed,
      previous_secret_sealed: r.previous_secret_sealed,
      previous_secret_expires_at: r.previous_secret_expires_at,
      older_secrets: r.older_secrets,
      consecutive_failures: r.consecutive_failures,
    },
  }))
}

export interface ClaimedRow {
  id: number
  message_id: string
  webhook_id: string
  campaign_slug: string
  event: string
  /** The body text stored at enqueue, sent as is. */
  body: string
  attempts: number
}

/** Which due rows a claim looks at: see `claimDue`. */
export type ClaimScope =
  /**
   * Every due row with an id up to `upTo`, oldest due first: retries, late commits, orphans; and
   * one probe per half-open endpoint, which holds the endpoint for `probeMs` (see `claimDue`).
   */
  | { sweep: true; upTo: number; probeMs: number }
  /** Fresh rows only, in id order, past the highest id this worker has claimed. */
  | { sweep: false; after: number }

/**
 * Lease up to `limit` due rows. `FOR UPDATE SKIP LOCKED` lets concurrent workers (any node) pass
 * over rows another is claiming; the committed `sending` status plus the lease keeps them off
 * those rows until the lease ends, and `releaseExpiredLeases` gives a crashed worker's rows back.
 *
 * Two scopes, because the outbox is a queue with churn. Every claim and settlement leaves the old
 * row version's entry in the status index until vacuum, and while other transactions are open
 * those entries cannot be marked dead: a claim walking the status index from the oldest due row
 * waded through every row settled in the last seconds (4.4 ms per claim under the leads bench,
 * the largest PostgreSQL cost per lead). A `fresh` claim instead walks the primary key from past
 * the last id it claimed, where the rows are new. A `sweep` (the worker's first pass, then once
 * per poll interval) still takes the status index, for what the fresh path cannot see: retries
 * that came due, rows whose transaction committed after a higher id was claimed, released leases.
 *
 * Only endpoints whose circuit is closed (`circuit_open_until` null) have their rows claimed
 * freely. One whose circuit's cooldown ended is half-open: a sweep claims a single row of it, the
 * probe, and holds the endpoint (its `circuit_open_until` moved `probeMs` on, so no other claim,
 * on any node, takes more) until the probe's outcome closes the circuit or opens it again (see
 * `recordEndpointResult`). A receiver that was failing is not sent its whole backlog at once; a
 * probe whose worker died is followed by another once the hold ends.
 */
export async function claimDue(
  db: Db,
  limit: number,
  leaseMs: number,
  scope: ClaimScope,
): Promise<ClaimedRow[]> {
  const [bound, order] = scope.sweep
    ? [sql`d.id <= ${scope.upTo}`, sql`d.next_attempt_at, d.id`]
    : [sql`d.id > ${scope.after}`, sql`d.id`]
  // A sweep probes the half-open endpoints, each held while its probe is out; a fresh claim never.
  // An endpoint with a row due is locked (one sweep among concurrent ones, on any node, takes it;
  // one with none is not written to at every sweep), then its probe's row, and it is held only
  // when there is one: held on a row another statement had locked (skipped), it showed `open`
  // with no probe out until the hold ended.
  // The probe's row is marked (`probe`), so the circuit's state can tell it from a send that was
  // already in flight when the circuit opened (see `endpointsProbing`).
  const [probes, probeRows, probeMark] = scope.sweep
    ? [
        sql`with candidate as (
          select w.id from service_notification_webhook w
          where w.enabled and w.circuit_open_until <= now() and exists (
            select 1 from service_notification_outbox d
            where d.webhook_id = w.id and ${bound} and d.status = 'pending' and d.next_attempt_at <= now()
          )
          for no key update of w skip locked
        ),
        probed as (
          select probed.id, probed.webhook_id from candidate c cross join lateral (
            select d.id, d.webhook_id from service_notification_outbox d
            where d.webhook_id = c.id and ${bound} and d.status = 'pending' and d.next_attempt_at <= now()
            order by d.next_attempt_at, d.id
            limit 1
            for update of d skip locked
          ) probed
        ),
        probe as (
          update service_notification_webhook w
          set circuit_open_until = now() + (${scope.probeMs}::int * interval '1 millisecond')
          where w.id in (select webhook_id from probed)
          returning w.id
        )`,
        sql`union all select id from probed where webhook_id in (select id from probe)`,
        sql`o.id in (select id from probed)`,
      ]
    : [sql``, sql``, sql`false`]
  // One list of ids (a union: two `in`s joined by `or` would scan the whole outbox).
  const res = await sql<Omit<ClaimedRow, 'body'> & { payload: unknown }>`
    ${probes}
    update service_notification_outbox o
    set status = 'sending', attempts = o.attempts + 1, probe = ${probeMark},
        lease_until = now() + (${leaseMs}::int * interval '1 millisecond')
    where o.id in (
      select free.id from (
        select d.id from service_notification_outbox d
        join service_notification_webhook w on w.id = d.webhook_id
        where ${bound} and d.status = 'pending' and d.next_attempt_at <= now()
          and w.enabled and w.circuit_open_until is null
        order by ${order}
        limit ${limit}
        for update of d skip locked
      ) free
      ${probeRows}
    )
    returning o.id, o.message_id, o.webhook_id, o.campaign_slug, o.event, o.payload, o.attempts
  `.execute(db)
  // As the driver parsed the jsonb (its key order): the bytes the first attempt sent.
  return res.rows.map(({ payload, ...r }) => ({ ...r, id: Number(r.id), body: JSON.stringify(payload) }))
}

/** The highest outbox id so far (0 when empty): where a worker's fresh claims start after a sweep. */
export async function lastOutboxId(db: Db): Promise<number> {
  const row = await db
    .selectFrom('service_notification_outbox')
    .select('id')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row ? Number(row.id) : 0
}

export type Outcome =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: Date; error: string }
  | { status: 'failed' | 'cancelled'; error: string }

/** One finished attempt: the row's new state and, when a request was made or refused, its log line. */
export interface Settlement {
  id: number
  webhook_id: string
  attempt: number
  outcome: Outcome
  log?: { status_code: number | null; error: string | null; duration_ms: number }
}

/**
 * Gives back leased rows this worker will not send (handed to it while stopping, or for an
 * endpoint whose circuit opened meanwhile): due now, their unused attempt not counted. The
 * attempt number fences off a row another worker claimed again after the lease ran out.
 */
export async function releaseLeases(db: Db, rows: Array<{ id: number; attempt: number }>): Promise<void> {
  if (rows.length === 0) return
  await sql`
    update service_notification_outbox o
    set status = 'pending', attempts = o.attempts - 1, lease_until = null, next_attempt_at = now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id bigint, attempt int)
    where o.id = r.id and o.attempts = r.attempt and o.status = 'sending'
      and o.id = any(${rows.map((r) => r.id)}::bigint[])
  `.execute(db)
}

/** Rows whose lease ran out (their worker died mid-send) are due again now; returns how many. */
export async function releaseExpiredLeases(db: Db): Promise<number> {
  const res = await db
    .updateTable('service_notification_outbox')
    .set({ status: 'pending', lease_until: null, next_attempt_at: sql`now()` })
    .where('status', '=', 'sending')
    .where('lease_until', '<', sql<Date>`now()`)
    .executeTakeFirst()
  return Number(res.numUpdatedRows)
}

/**
 * Settle many rows and log their attempts in ONE statement (one commit): the worker's writes
 * compete with lead submissions for the same WAL flushes, so a pass's deliveries are settled
 * together rather than one commit each. The attempt number is the fence: a row whose lease
 * expired and that another worker claimed again (attempts went up) is left to that claim, and a
 * row cancelled meanwhile (its subject erased) stays cancelled; the log line is kept anyway. (Matching on the key and attempts, not on `status`, and naming the
 * ids as an array keep the planner on the primary key, rather than on the status index and its
 * churn or on a scan of the whole outbox hashed against the recordset, whose size it cannot see.)
 * A row that is gone (its endpoint deleted while the attempt was on the wire) gets no log line:
 * the log's key to the outbox would refuse it, and fail the whole statement with it, the other
 * attempts' outcomes included (delivered messages left to be sent again). A row is logged when
 * this statement settled it (the update holds it), or, fenced off, when `kept` could lock it
 * against deletion (a delete in progress is waited for, then the row is passed over). Only the
 * fenced rows are locked so: a lock is one more WAL record per row.
 */
export async function settleMany(db: Db, settlements: Settlement[]): Promise<void> {
  if (settlements.length === 0) return
  const rows = settlements.map((s) => ({
    id: s.id,
    webhook_id: s.webhook_id,
    attempt: s.attempt,
    status: s.outcome.status,
    error: s.outcome.status === 'delivered' ? null : s.outcome.error,
    next_attempt_at: s.outcome.status === 'pending' ? s.outcome.nextAttemptAt.toISOString() : null,
    logged: s.log !== undefined,
    status_code: s.log?.status_code ?? null,
    log_error: s.log?.error ?? null,
    duration_ms: s.log?.duration_ms ?? 0,
  }))
  await sql`
    with s as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as s(id bigint, webhook_id text, attempt int, status text, error text, next_attempt_at timestamptz,
             logged boolean, status_code int, log_error text, duration_ms int)
    ),
    settled as (
      update service_notification_outbox o
      set status = s.status, lease_until = null, last_error = s.error,
          delivered_at = case when s.status = 'delivered' then now() else o.delivered_at end,
          next_attempt_at = coalesce(s.next_attempt_at, o.next_attempt_at)
      from s where o.id = s.id and o.attempts = s.attempt and o.status <> 'cancelled'
        and o.id = any(${settlements.map((x) => x.id)}::bigint[])
      returning o.id
    ),
    kept as (
      select o.id from service_notification_outbox o
      where o.id = any(${settlements.filter((x) => x.log).map((x) => x.id)}::bigint[])
        and o.id not in (select id from settled)
      for key share
    )
    insert into service_notification_delivery (outbox_id, webhook_id, attempt, status_code, error, duration_ms)
    select id, webhook_id, attempt, status_code, log_error, duration_ms from s
    where logged and (id in (select id from settled) or id in (select id from kept))
    order by id
  `.execute(db)
}

/**
 * Endpoint health after an attempt: reset on success, count and maybe open the breaker on
 * failure. `pauseMs` (a failure's 429/503 `Retry-After`, capped by the caller) opens the circuit
 * for that long at once, whatever the count: the receiver named when to come back. An open
 * circuit is only ever extended here, never shortened. Returns true when the endpoint's circuit
 * is open after this attempt.
 */
export async function recordEndpointResult(
  db: Db,
  webhookId: string,
  ok: boolean,
  breaker: { threshold: number; cooldownMs: number },
  pauseMs = 0,
): Promise<boolean> {
  if (ok) {
    await db
      .updateTable('service_notification_webhook')
      .set({ consecutive_failures: 0, circuit_open_until: null })
      .where('id', '=', webhookId)
      .where('consecutive_failures', '>', 0)
      .execute()
    return false
  }
  const { rows } = await sql<{ open: boolean }>`
    update service_notification_webhook
    set consecutive_failures = consecutive_failures + 1,
        circuit_open_until = greatest(
          case when consecutive_failures + 1 >= ${breaker.threshold}
            then now() + (${breaker.cooldownMs}::int * interval '1 millisecond') end,
          case when ${Math.max(0, Math.round(pauseMs))}::int > 0
            then now() + (${Math.max(0, Math.round(pauseMs))}::int * interval '1 millisecond') end,
          circuit_open_until)
    where id = ${webhookId}
    returning coalesce(circuit_open_until > now(), false) as open
  `.execute(db)
  return rows[0]?.open === true
}

/** An endpoint's waiting messages (retries backing off included) become due now. */
export async function dueNow(db: Db, webhookId: string): Promise<void> {
  await db
    .updateTable('service_notification_outbox')
    .set({ next_attempt_at: sql`now()` })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '>', sql<Date>`now()`)
    .execute()
}

/** A 410 Gone: the receiver asked us to stop. Pending messages for it are cancelled. */
export async function disableEndpoint(db: Db, webhookId: string, reason: string) {
  const now = new Date()
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('service_notification_webhook')
      .set((eb) => ({
        enabled: false,
        disabled_reason: reason,
        // A second 410 (a send already in flight) keeps the time of the first.
        disabled_at: eb.fn.coalesce('disabled_at', eb.val(now)),
        updated_at: now,
      }))
      .where('id', '=', webhookId)
      .execute()
    await trx
      .updateTable('service_notification_outbox')
      .set({ status: 'cancelled', last_error: reason, lease_until: null })
      .where('webhook_id', '=', webhookId)
      .where('status', '=', 'pending')
      .execute()
  })
}

export function listDeliveries(db: Db, webhookId: string, limit: number, beforeId?: number) {
  let q = db
    .selectFrom('service_notification_delivery as d')
    .innerJoin('service_notification_outbox as o', 'o.id', 'd.outbox_id')
    .select([
      'd.id',
      'd.attempt',
      'd.status_code',
      'd.error',
      'd.duration_ms',
      'd.created_at',
      'o.message_id',
      'o.event',
      'o.status as message_status',
    ])
    .where('d.webhook_id', '=', webhookId)
    .orderBy('d.id', 'desc')
    .limit(limit)
  if (beforeId !== undefined) q = q.where('d.id', '<', beforeId)
  return q.execute()
}

/**
 * An endpoint's messages, newest first: `before` (a message id from the previous page) pages back
 * through all of them, `status` picks the ones to look at (the failed ones, to replay them).
 *
 * In message id order, not row id order: the outbox's key (webhook_id, message_id) serves this
 * order, one endpoint's range read backwards from the cursor, where the row ids have no index of
 * their own per endpoint (one more index on every lead's outbox rows). A message id is a ULID: the
 * time the event was queued, to the millisecond. The cursor is a position, so a message deleted
 * since (retention) still pages on from where it stood.
 */
export function listMessages(
  db: Db,
  webhookId: string,
  limit: number,
  opts: { before?: string; status?: OutboxStatus } = {},
) {
  let q = db
    .selectFrom('service_notification_outbox')
    .select([
      'message_id',
      'event',
      'status',
      'attempts',
      'next_attempt_at',
      'last_error',
      'created_at',
      'delivered_at',
    ])
    .where('webhook_id', '=', webhookId)
    .orderBy('message_id', 'desc')
    .limit(limit)
  if (opts.status) q = q.where('status', '=', opts.status)
  if (opts.before) q = q.where('message_id', '<', opts.before)
  return q.execute()
}

/** What erasure leaves of a message's payload (see `scrubSubjects`). */
export const ERASED_PAYLOAD = JSON.stringify({ erased: true })

/** What a replay did: queued it, or why not (a message being sent now says until when at most). */
export type ReplayOutcome =
  | { outcome: 'queued' }
  | { outcome: 'missing' }
  | { outcome: 'erased' }
  | { outcome: 'sending'; leaseUntil: Date | null }

/**
 * Manual replay: the message goes back to `pending` now, with a fresh retry budget. Not a
 * message being sent right now (its attempt's outcome would overwrite the replay), and not one
 * whose subject was erased (there is nothing left to send).
 */
export async function replay(db: Db, webhookId: string, messageId: string): Promise<ReplayOutcome> {
  const res = await db
    .updateTable('service_notification_outbox')
    .set({ status: 'pending', attempts: 0, next_attempt_at: new Date(), lease_until: null })
    .where('webhook_id', '=', webhookId)
    .where('message_id', '=', messageId)
    .where('status', '!=', 'sending')
    .where(sql<boolean>`payload <> ${ERASED_PAYLOAD}::jsonb`)
    .executeTakeFirst()
  if (Number(res.numUpdatedRows) > 0) return { outcome: 'queued' }
  const row = await db
    .selectFrom('service_notification_outbox')
    .select(['status', 'lease_until', sql<boolean>`payload = ${ERASED_PAYLOAD}::jsonb`.as('erased')])
    .where('webhook_id', '=', webhookId)
    .where('message_id', '=', messageId)
    .executeTakeFirst()
  if (!row) return { outcome: 'missing' }
  if (row.erased) return { outcome: 'erased' }
  // Neither erased nor updated: its attempt is under way (or ended between the two statements,
  // which a second try settles just the same).
  return { outcome: 'sending', leaseUntil: row.lease_until }
}

/** How many messages one recovery statement turns back at most (see `recover`). */
export const RECOVER_BATCH = 1000

export interface RecoverOptions {
  /** Messages per statement (default `RECOVER_BATCH`). */
  batchSize?: number
  /** After each statement that recovered some, with how many: their worker can start on them. */
  onBatch?: (recovered: number) => void | Promise<void>
}

/**
 * Recovery after an outage or a disabled spell: every message of this endpoint created since
 * `since` that did not get through (failed, or cancelled: recorded while the endpoint was
 * disabled, or waiting when a 410 disabled it) goes back to `pending` now with a fresh retry
 * budget, as a replay of each would. Messages about erased people stay. Returns how many.
 *
 * A batch at a time, in message id order, each batch one statement and its own commit: after a
 * long outage there can be hundreds of thousands of such messages, and one statement would hold
 * all their row locks (the worker's settlements and erasure's scrub waiting on them) and write its
 * WAL in one burst. Each statement picks its batch past the last message id the previous one
 * looked at, reading on along the endpoint's stretch of the outbox key (webhook_id, message_id)
 * rather than sorting the endpoint's rows again for every batch, among the rows there were when
 * the recovery began (row ids up to the last one then: what one statement would have seen), and
 * checks each row again as it updates it: a row erased, replayed or deleted since, even while the
 * statement waited for its lock, is left as it is now. Every statement also takes a share lock on
 * the endpoint and stops the recovery if it was disabled meanwhile (a 410): a 410 committed first
 * stops it; one that comes after finds the rows pending and cancels them as it cancels any.
 */
export async function recover(
  db: Db,
  webhookId: string,
  since: Date,
  options: RecoverOptions = {},
): Promise<number> {
  const batch = options.batchSize ?? RECOVER_BATCH
  const upTo = await lastOutboxId(db)
  let after = ''
  let recovered = 0
  for (;;) {
    const { rows } = await sql<{ enabled: number; seen: number; last: string | null; recovered: number }>`
      with endpoint as (
        select id from service_notification_webhook where id = ${webhookId} and enabled for share
      ),
      batch as (
        select id, message_id from service_notification_outbox
        where webhook_id = ${webhookId} and message_id > ${after} and id <= ${upTo}
          and status in ('failed', 'cancelled') and created_at >= ${since}
          and payload <> ${ERASED_PAYLOAD}::jsonb
        order by message_id
        limit ${batch}
      ),
      recovered as (
        update service_notification_outbox o
        set status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = null
        where o.id in (select id from batch) and exists (select 1 from endpoint)
          and o.status in ('failed', 'cancelled') and o.payload <> ${ERASED_PAYLOAD}::jsonb
        returning o.id
      )
      select (select count(*) from endpoint)::int as enabled, (select count(*) from batch)::int as seen,
        (select max(message_id) from batch) as last, (select count(*) from recovered)::int as recovered
    `.execute(db)
    const step = rows[0]!
    if (step.enabled === 0) return recovered
    recovered += step.recovered
    if (step.recovered > 0) await options.onBatch?.(step.recovered)
    if (step.seen < batch || step.last === null) return recovered
    after = step.last
  }
}

/**
 * Erasure: scrub the payloads of every message about these subjects and stop unsent ones,
 * including those claimed (`sending`): a send already on the wire finishes, but its settlement
 * leaves a cancelled row cancelled (see `settleMany`), so nothing is retried.
 */
export async function scrubSubjects(db: Db, subjectIds: string[]) {
  if (subjectIds.length === 0) return
  await db
    .updateTable('service_notification_outbox')
    .set({ payload: ERASED_PAYLOAD })
    .where('subject_id', 'in', subjectIds)
    .execute()
  await db
    .updateTable('service_notification_outbox')
    .set({ status: 'cancelled', last_error: 'subject erased', lease_until: null })
    .where('subject_id', 'in', subjectIds)
    .where('status', 'in', ['pending', 'sending'])
    .execute()
}

/**
 * Deletes finished messages (delivered, failed, cancelled) created before `before`, with their
 * delivery log (cascade), a batch at a time so no statement holds many locks; messages still
 * being retried stay whatever their age. Ids grow with time, so the walk stops at the first
 * message young enough to keep: each call reads little more than what it deletes. Returns how
 * many it deleted.
 */
export async function purgeFinished(db: Db, before: Date, batch = 1000): Promise<number> {
  const young = await db
    .selectFrom('service_notification_outbox')
    .select('id')
    .where('created_at', '>=', before)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  let deleted = 0
  for (;;) {
    const res = await sql`
      delete from service_notification_outbox where id in (
        select id from service_notification_outbox
        where status in ('delivered', 'failed', 'cancelled') and created_at < ${before}
          ${young ? sql`and id < ${young.id}` : sql``}
        order by id
        limit ${batch}
      )
    `.execute(db)
    const n = Number(res.numAffectedRows ?? 0)
    deleted += n
    if (n < batch) return deleted
  }
}
