import { hash } from 'node:crypto'
import { sql } from 'kysely'
import { actorKey, type Principal } from '../platform/auth/principal.js'
import type { Db } from '../platform/db/database.js'
import {
  type AppError,
  ConflictError,
  errorBody,
  retryLaterError,
  UnprocessableError,
} from '../platform/http/errors.js'

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** A claim older than this is from a process that died mid-action; another may take it over. */
const STALE_CLAIM_MS = 60_000
/** How long a repeat waits for another process's first run by default (`IDEMPOTENCY_WAIT_SECONDS`). */
export const WAIT_FOR_OTHER_MS = 10_000
/** When a repeat turned away while the first run goes on is told to come back. */
export const IN_PROGRESS_RETRY_MS = 1000

/**
 * The repeat of a request whose first run is still going on (on another node, or in a process
 * that died: its claim is taken over once `STALE_CLAIM_MS` old). Nothing was done for it: sent
 * again with the same request_id after `Retry-After`, it gets the first run's answer, or runs the
 * action itself once the claim is stale (`details.takeover_in_ms`, when the claim's age is known).
 */
export function requestInProgress(message: string, claimedAt?: Date): AppError {
  const details = claimedAt
    ? { takeover_in_ms: Math.max(0, STALE_CLAIM_MS - (Date.now() - claimedAt.getTime())) }
    : {}
  return retryLaterError(409, 'REQUEST_IN_PROGRESS', message, IN_PROGRESS_RETRY_MS, details)
}

export interface RequestKey {
  campaign_slug: string
  actor: string
  request_id: string
}

export interface StoredResponse {
  status_code: number
  body: unknown
}

/** A stored answer and what its request was (null for records older than migration 016). */
export interface StoredRequest extends StoredResponse {
  fingerprint: string | null
}

/**
 * What a request_id is used for: its action (the registered name, so an alias and its name are
 * the same action) and its payload, as canonical JSON (`canonicalJson`): a retry rebuilt from a
 * map or a form may send the same object with its keys in another order, and is the same request.
 */
export interface Fingerprint {
  /** Stored with the record and compared with later copies'. */
  readonly value: string
  readonly action: string
  readonly payload: unknown
}

export function requestFingerprint(action: string, payload: unknown): Fingerprint {
  return { value: digest(action, canonicalJson(payload)), action, payload }
}

function digest(action: string, payload: string): string {
  return hash('sha256', `${action}\u0000${payload}`, 'base64url')
}

/**
 * A JSON value's text with every object's keys in one order whatever order they came in: sorted
 * (by UTF-16 code units), except that an object keeps integer-like keys first, ascending, as every
 * JavaScript object does. Arrays keep their order, which is part of their meaning. Built as a
 * sorted copy written by `JSON.stringify` (twice as fast as writing the text by hand), so
 * `undefined` and functions are left out as it leaves them out.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null'
}

function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(sortedCopy)
  const record = value as Record<string, unknown>
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(record).sort()) {
    // Assigned, a `__proto__` key would set the copy's prototype instead of naming a value.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: sortedCopy(record[key]), enumerable: true })
    else copy[key] = sortedCopy(record[key])
  }
  return copy
}

/**
 * The stored answer is a replay only for the same request: a request_id reused for another
 * action or payload (a client bug, or ids that collide) would otherwise be answered with the
 * first request's success while nothing of its own ran. Refused as the IETF Idempotency-Key
 * draft and Stripe do: 422, and nothing recorded. A record stored by a release that hashed the
 * payload's text as parsed (key order included) is still the same request when that text is: a
 * retry across an upgrade, within the record's day (computed only on a mismatch).
 */
export function sameRequest<T extends { fingerprint: string | null }>(
  stored: T,
  fingerprint: Fingerprint,
): T {
  if (
    stored.fingerprint !== null &&
    stored.fingerprint !== fingerprint.value &&
    stored.fingerprint !== digest(fingerprint.action, JSON.stringify(fingerprint.payload))
  ) {
    throw new UnprocessableError(
      'This request_id was already used for a different request; use a new request_id for a new request',
      'IDEMPOTENCY_KEY_REUSED',
    )
  }
  return stored
}

/** An action's secret result fields (`ActionDefinition.secretResult`). */
export interface SecretResult {
  /** Top-level fields of `result`, e.g. `ingest_url`. */
  fields: string[]
  /** How the caller gets a new secret, told by a replay (e.g. "reset the key with stream.reset_key"). */
  hint: string
}

/**
 * The answer as its idempotency record keeps it: a success's secret fields left out, named in
 * `withheld` with the action's hint. A secret never sits in the database for the record's day (as
 * the stream keeps its key's hash alone); only the first answer, sent once, carries it.
 */
export function withholdSecrets(response: StoredResponse, secret: SecretResult | undefined): StoredResponse {
  if (!secret || response.status_code >= 300) return response
  const body = response.body as Record<string, unknown> | null
  const result = body?.result
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return response
  const kept: Record<string, unknown> = { ...result }
  const fields = secret.fields.filter((f) => f in kept)
  if (fields.length === 0) return response
  for (const f of fields) delete kept[f]
  return {
    status_code: response.status_code,
    body: { ...body, result: kept, withheld: { fields, hint: secret.hint } },
  }
}

/**
 * A stored answer as a replay gives it: one whose secrets were withheld is 409
 * `SECRET_NOT_REPLAYED` (nothing ran again), its `details` naming the fields and the rest of the
 * first result (the stream it made, say), so the client learns what was done and asks for a new
 * secret. Stripe would replay the saved answer whole; this server keeps no secret to replay.
 */
export function replayAnswer<T extends StoredResponse>(stored: T): StoredResponse {
  const body = stored.body as { withheld?: SecretResult; result?: unknown; request_id?: string } | null
  if (!body?.withheld) return stored
  const { fields, hint } = body.withheld
  const err = new ConflictError(
    `The first answer to this request held ${fields.join(', ')}, a secret that is not kept for replays: ${hint}`,
    'SECRET_NOT_REPLAYED',
    { withheld: fields, result: body.result },
  )
  return { status_code: 409, body: errorBody(err, body.request_id ?? '') }
}

async function read(db: Db, key: RequestKey) {
  return db
    .selectFrom('service_nexus_request')
    .select(['status', 'status_code', 'response', 'fingerprint', 'created_at'])
    .where('campaign_slug', '=', key.campaign_slug)
    .where('actor', '=', key.actor)
    .where('request_id', '=', key.request_id)
    .where('expires_at', '>', new Date())
    .executeTakeFirst()
}

const toStored = (row: { status_code: number | null; response: unknown; fingerprint: string | null }) => ({
  status_code: row.status_code ?? 200,
  body: row.response,
  fingerprint: row.fingerprint,
})

/**
 * The stored first response for this key, once it is done; waits up to `waitMs` while another
 * process holds it.
 */
export async function storedResponse(
  db: Db,
  key: RequestKey,
  waitMs = WAIT_FOR_OTHER_MS,
): Promise<StoredRequest | undefined> {
  const deadline = Date.now() + waitMs
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const row = await read(db, key)
    if (!row) return undefined
    if (row.status === 'done') return toStored(row)
    if (Date.now() >= deadline) {
      throw requestInProgress(
        'A request with this request_id is still being processed; retry after Retry-After',
        new Date(row.created_at),
      )
    }
    await new Promise((r) => setTimeout(r, delay))
  }
}

/** The stored first response for this key when one is done, without waiting; undefined otherwise. */
export async function finishedResponse(db: Db, key: RequestKey): Promise<StoredRequest | undefined> {
  const row = await read(db, key)
  return row?.status === 'done' ? toStored(row) : undefined
}

/**
 * Claim the key before running a handler that writes on its own. Returns undefined when claimed,
 * or the first response when the key was already used.
 */
export async function claim(
  db: Db,
  key: RequestKey,
  fingerprint: string,
  waitMs = WAIT_FOR_OTHER_MS,
): Promise<StoredRequest | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db
      .insertInto('service_nexus_request')
      .values({
        // Its columns only: a caller's key may carry more (the dispatcher's `keyless`).
        campaign_slug: key.campaign_slug,
        actor: key.actor,
        request_id: key.request_id,
        status: 'pending',
        fingerprint,
        expires_at: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
      })
      .onConflict((oc) => oc.columns(['campaign_slug', 'actor', 'request_id']).doNothing())
      .returning('request_id')
      .executeTakeFirst()
    if (inserted) return undefined
    const takenOver = await db
      .updateTable('service_nexus_request')
      .set({ created_at: new Date(), expires_at: new Date(Date.now() + IDEMPOTENCY_TTL_MS) } as any)
      .where('campaign_slug', '=', key.campaign_slug)
      .where('actor', '=', key.actor)
      .where('request_id', '=', key.request_id)
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'pending'),
            eb('created_at', '<', new Date(Date.now() - STALE_CLAIM_MS)),
          ]),
          eb('expires_at', '<=', new Date()),
        ]),
      )
      // A new request under the key: whom the old answer was about (`markSubject`) is not its.
      .set({ status: 'pending', response: null, status_code: null, fingerprint, subject_user_id: null })
      .returning('request_id')
      .executeTakeFirst()
    if (takenOver) return undefined
    const earlier = await storedResponse(db, key, waitMs)
    if (earlier) return earlier
  }
  throw requestInProgress('A request with this request_id is still being processed; retry after Retry-After')
}

/** Give a claim back after an unexpected failure, so the client's retry can run. */
export async function release(db: Db, key: RequestKey): Promise<void> {
  await db
    .deleteFrom('service_nexus_request')
    .where('campaign_slug', '=', key.campaign_slug)
    .where('actor', '=', key.actor)
    .where('request_id', '=', key.request_id)
    .where('status', '=', 'pending')
    .execute()
}

/** Drop records past their 24 h window; returns how many. */
export async function purgeExpired(db: Db): Promise<number> {
  const res = await db
    .deleteFrom('service_nexus_request')
    .where('expires_at', '<', sql<Date>`now()`)
    .executeTakeFirst()
  return Number(res.numDeletedRows)
}

/** What an erased person's stored answers say from then on: a retry with the key learns that. */
const ERASED_ANSWER = JSON.stringify({
  status: 'error',
  error: { code: 'ERASED', message: 'The person this request was about has been erased' },
})

/**
 * Erasure: the stored answers of a person's requests (a join's answer holds their email, name,
 * referral code and a token) are replaced by a 410 naming the erasure, so a retry with the same
 * key learns that, and nothing of them stays until the records expire. `actors` as `actorKey`
 * makes them: `user:<id>`, and `session:<id>` for the guest sessions that became theirs.
 * `subjects` are the person's user ids: the answers about them that another credential sent (a
 * join from a friend's logged-in browser, or with an operator's API key; see `markSubject`).
 */
export async function forgetResponses(trx: Db, actors: string[], subjects: string[] = []): Promise<void> {
  if (actors.length > 0) await forgetResponsesQuery(trx, actors, await campaignSlugs(trx)).execute()
  if (subjects.length > 0) await forgetSubjectsQuery(trx, subjects).execute()
}

/**
 * The key leads with the campaign, so naming every campaign lets PostgreSQL probe the key once
 * per campaign and actor instead of scanning a day of requests (millions of rows on a busy node)
 * inside the erasure's transaction. Requests to a campaign deleted since expire with their day.
 */
export function forgetResponsesQuery(trx: Db, actors: string[], campaigns: string[]) {
  return trx
    .updateTable('service_nexus_request')
    .set({ status_code: 410, response: ERASED_ANSWER })
    .where('campaign_slug', '=', sql<string>`any(${campaigns}::text[])`)
    .where('actor', '=', sql<string>`any(${actors}::text[])`)
    .where('status', '=', 'done')
}

/** The answers about these people, through the partial index on the subject (migration 022). */
export function forgetSubjectsQuery(trx: Db, subjects: string[]) {
  return trx
    .updateTable('service_nexus_request')
    .set({ status_code: 410, response: ERASED_ANSWER })
    .where('subject_user_id', '=', sql<string>`any(${subjects}::text[])`)
    .where('subject_user_id', 'is not', null)
    .where('status', '=', 'done')
}

/**
 * Names the person an action's stored answer is about (a join's new member), in the action's
 * commit (`ctx.defer`), so erasing them finds it whichever credential sent it. The record is the
 * one the dispatcher keeps for this request: the campaign of the path (`campaign_id`), the
 * caller's actor, the request id. A request without a key of the client's has none: the caller
 * skips it then (`ActionContext.recorded`).
 */
export async function markSubject(
  trx: Db,
  request: { envelope: { campaign_id: string; request_id: string }; principal: Principal },
  userId: string,
): Promise<void> {
  await trx
    .updateTable('service_nexus_request')
    .set({ subject_user_id: userId })
    .where('campaign_slug', '=', request.envelope.campaign_id)
    .where('actor', '=', actorKey(request.principal))
    .where('request_id', '=', request.envelope.request_id)
    .execute()
}

async function campaignSlugs(trx: Db): Promise<string[]> {
  const rows = await trx.selectFrom('service_campaign_main').select('slug').execute()
  return rows.map((r) => r.slug)
}
