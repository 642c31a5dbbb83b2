import {
  type ExpressionBuilder,
  type Insertable,
  type RawBuilder,
  type Selectable,
  type Updateable,
  sql,
} from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { Database, MediaMainTable } from '../../platform/db/tables.js'

export type MediaRow = Selectable<MediaMainTable>
type Status = MediaMainTable['status']

export async function insert(db: Db, row: Insertable<MediaMainTable>): Promise<void> {
  await db.insertInto('service_media_main').values(row).execute()
}

export async function find(db: Db, id: string): Promise<MediaRow | undefined> {
  return db.selectFrom('service_media_main').selectAll().where('id', '=', id).executeTakeFirst()
}

/**
 * The media `id` as its uploader sees it: found only from the session that uploaded it, or by the
 * registered user who did (as `findOwnLead` finds a lead for its submitter), who also finds what
 * they uploaded as a guest of `continued` (the sessions they joined or logged in from, whose guest
 * uploads count against their quota: see `QuotaScope`). The one rule of who uploaded a media:
 * reading it back (`own`) and deleting it (`remove`) both ask this.
 */
export async function findOwn(
  db: Db,
  id: string,
  owner: { user_id: string; session_id: string },
  continued: string[] = [],
): Promise<MediaRow | undefined> {
  return db
    .selectFrom('service_media_main')
    .selectAll()
    .where('id', '=', id)
    .where((eb) =>
      owner.user_id === 'guest'
        ? eb('owner_session_id', '=', owner.session_id)
        : eb.or([eb('owner_session_id', '=', owner.session_id), byPerson(owner.user_id, continued)(eb)]),
    )
    .executeTakeFirst()
}

/** Claim the upload URL: only the first PUT for a pending media wins (single use, across nodes). */
export async function claim(db: Db, id: string): Promise<MediaRow | undefined> {
  return db
    .updateTable('service_media_main')
    .set({ status: 'uploading', upload_used_at: new Date(), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('upload_used_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

/**
 * Ends an upload `failed` with `reason`. `leftovers`: the keys of files it stored that the storage
 * would not remove then (a bucket answering errors), kept on the row for the sweep to remove.
 */
export async function fail(db: Db, id: string, reason: string, leftovers: string[] = []): Promise<void> {
  await db
    .updateTable('service_media_main')
    .set({
      status: 'failed',
      failure_reason: reason,
      ...(leftovers.length > 0
        ? {
            metadata: sql`metadata || jsonb_build_object('leftover_keys', ${JSON.stringify(leftovers)}::jsonb)`,
          }
        : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute()
}

/** The leftover keys a failed upload's row holds (see `fail`), or none. */
export const leftoverKeys = (row: Pick<MediaRow, 'metadata'>): string[] => {
  const keys = (row.metadata as { leftover_keys?: unknown }).leftover_keys
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []
}

/**
 * Up to `limit` failed uploads holding leftover keys (see `fail`), locked for the transaction;
 * rows another node holds are skipped, not waited for.
 */
export async function withLeftovers(trx: Db, limit: number): Promise<MediaRow[]> {
  return (
    trx
      .selectFrom('service_media_main')
      .selectAll()
      .where('status', '=', 'failed')
      // `?`: the GIN index on `metadata` finds them, the many failed uploads without any unread.
      .where(sql<boolean>`metadata ? 'leftover_keys'`)
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute()
  )
}

/** The leftover keys of `id` are removed: its row no longer names them. */
export async function clearLeftovers(db: Db, id: string): Promise<void> {
  await db
    .updateTable('service_media_main')
    .set({ metadata: sql`metadata - 'leftover_keys'` })
    .where('id', '=', id)
    .execute()
}

/**
 * Move an upload on from `from`; false when its row is gone (deleted while it was uploading).
 * `derivedBytes`: what the files made from it (its thumbnail) hold, recorded with the move.
 */
export async function advance(
  db: Db,
  id: string,
  from: Status,
  patch: Updateable<MediaMainTable>,
  derivedBytes?: number,
): Promise<boolean> {
  const done = await db
    .updateTable('service_media_main')
    .set({
      ...patch,
      ...(derivedBytes === undefined ? {} : { metadata: withDerived(derivedBytes) }),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst()
  return done.numUpdatedRows > 0n
}

export async function remove(db: Db, id: string): Promise<MediaRow | undefined> {
  return db.deleteFrom('service_media_main').where('id', '=', id).returningAll().executeTakeFirst()
}

/**
 * Deletes every media a person uploaded, as a user or as a guest of one of `sessionIds` (the
 * guest sessions they joined from), returning the rows: the caller removes their files.
 */
export async function removeByOwner(db: Db, userId: string, sessionIds: string[]): Promise<MediaRow[]> {
  return db.deleteFrom('service_media_main').where(byPerson(userId, sessionIds)).returningAll().execute()
}

/** Of `sessionIds`, those a guest uploaded from (any media, in any state). */
export async function sessionsWithGuestMedia(db: Db, sessionIds: string[]): Promise<string[]> {
  if (sessionIds.length === 0) return []
  const rows = await db
    .selectFrom('service_media_main')
    .select('owner_session_id')
    .distinct()
    .where('owner_user_id', '=', 'guest')
    .where('owner_session_id', 'in', sessionIds)
    .execute()
  return rows.map((r) => r.owner_session_id)
}

/** What a person uploaded: as `userId`, or as a guest of one of `sessionIds` (see `QuotaScope`). */
const byPerson =
  (userId: string, sessionIds: string[]) => (eb: ExpressionBuilder<Database, 'service_media_main'>) =>
    sessionIds.length > 0
      ? eb.or([
          eb('owner_user_id', '=', userId),
          eb.and([eb('owner_user_id', '=', 'guest'), eb('owner_session_id', 'in', sessionIds)]),
        ])
      : eb('owner_user_id', '=', userId)

/**
 * Whether an upload `uploading` or `processing` still counts as in flight: its URL expired after
 * `since`, or its row was written after it (claimed, a heartbeat while bytes arrive, moved on).
 * One that did neither for that long was left behind by a process that died: the quotas stop
 * counting it and the sweep fails it (`failInterrupted`), so it is always one or the other.
 */
const aliveSince = (since: Date | RawBuilder<Date>) =>
  sql<boolean>`(upload_expires_at > ${since} or updated_at > ${since})`

/** Of `ids`, the uploads still in flight as the quotas count them (see `usage`). */
export async function inFlight(db: Db, ids: string[], inFlightSince: Date): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('service_media_main')
    .select('id')
    .where('id', 'in', ids)
    .where('status', 'in', ['uploading', 'processing'])
    .where(aliveSince(inFlightSince))
    .execute()
  return rows.map((r) => r.id)
}

/**
 * Heartbeat of an upload whose bytes are arriving: its row says it is alive, by the database
 * clock. Only while `uploading`: it never moves a row on, nor brings one back.
 */
export async function touch(db: Db, id: string): Promise<void> {
  await db
    .updateTable('service_media_main')
    .set({ updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'uploading')
    .execute()
}

/**
 * Fails up to `limit` uploads left `uploading` or `processing` with no sign of life for `graceMs`
 * (by the database clock, so nodes agree), returning them. Rows another node is failing at the
 * same time are skipped, not waited for: each row is failed, and returned, once. Call it in a
 * transaction that removes their files, so a removal that fails leaves them to the next sweep.
 */
export async function failInterrupted(trx: Db, graceMs: number, limit: number): Promise<MediaRow[]> {
  const since = sql<Date>`now() - ${`${graceMs} milliseconds`}::interval`
  const stuck = (db: Db) =>
    db
      .selectFrom('service_media_main')
      .where('status', 'in', ['uploading', 'processing'])
      .where(sql<boolean>`not ${aliveSince(since)}`)
  return trx
    .updateTable('service_media_main')
    .set({ status: 'failed', failure_reason: 'interrupted', updated_at: sql`now()` })
    .where('id', 'in', stuck(trx).select('id').limit(limit).forUpdate().skipLocked())
    .where('status', 'in', ['uploading', 'processing'])
    .returningAll()
    .execute()
}

/**
 * A campaign's media, newest first, by id: ids are ULIDs (time first), so `before` (the last id
 * seen) pages on from where the last page ended, even when that media was deleted meanwhile.
 */
export async function listByCampaign(
  db: Db,
  slug: string,
  q: { limit: number; before?: string; status?: Status },
): Promise<MediaRow[]> {
  let query = db.selectFrom('service_media_main').selectAll().where('campaign_slug', '=', slug)
  if (q.before !== undefined) query = query.where('id', '<', q.before)
  if (q.status !== undefined) query = query.where('status', '=', q.status)
  return query.orderBy('id', 'desc').limit(q.limit).execute()
}

/**
 * Whose bytes a quota counts: a campaign's, or one uploader's over every campaign. A person's are
 * what they uploaded as a user and as a guest of `guest_sessions` (the sessions they joined or
 * logged in from, whose guest uploads are theirs: see `removeByOwner`), each once, so joining
 * hands nobody a fresh budget. A guest session's are its guest uploads.
 */
export type QuotaScope =
  | { campaign: string }
  | { user_id: string; guest_sessions?: string[] }
  | { session_id: string }
  | GuestNetworkScope

/**
 * Guests' uploads to one campaign from one client network (`guest_network` in `metadata`, a hash
 * of the campaign and the network) in the day before the count: every guest session there shares
 * one budget. People's uploads are not in it.
 */
export interface GuestNetworkScope {
  guest_network: string
  campaign_slug: string
}

/** How far back a guest network's budget counts uploads (by their creation). */
export const GUEST_NETWORK_WINDOW_MS = 24 * 60 * 60 * 1000

/** Bytes of the files the server made from an upload (its thumbnail), kept in `metadata`. */
const derived = sql<number>`coalesce((metadata->>'derived_bytes')::bigint, 0)`

/**
 * Bytes a scope holds: ready media by their size and their derived files' (a thumbnail), failed
 * ones nothing (their bytes are removed), a pending upload URL its whole `max_bytes` until it
 * expires, and an upload in flight what its URL reserved, or what it has once that is more (a
 * thumbnail bigger than the room its original left), while it is alive since `inFlightSince` (see
 * `aliveSince`): an upload that began before its URL expired may outlast it, but one left
 * `uploading` by a crashed process must not hold its bytes for good. `except` leaves one media out.
 */
export async function usage(
  db: Db,
  scope: QuotaScope,
  now: Date,
  inFlightSince: Date,
  except?: string,
): Promise<number> {
  let query = db.selectFrom('service_media_main').select(
    sql<string | number>`coalesce(sum(case
      when status = 'ready' then size_bytes + ${derived}
      when status = 'pending' and upload_expires_at > ${now} then max_bytes
      when status in ('uploading', 'processing') and ${aliveSince(inFlightSince)}
        then greatest(max_bytes, coalesce(size_bytes, 0) + ${derived})
      else 0 end), 0)`.as('bytes'),
  )
  if ('campaign' in scope) query = query.where('campaign_slug', '=', scope.campaign)
  else if ('guest_network' in scope)
    query = query
      .where('campaign_slug', '=', scope.campaign_slug)
      .where('owner_user_id', '=', 'guest')
      .where(sql<boolean>`metadata @> ${JSON.stringify({ guest_network: scope.guest_network })}::jsonb`)
      .where('created_at', '>', new Date(now.getTime() - GUEST_NETWORK_WINDOW_MS))
  else if ('user_id' in scope) query = query.where(byPerson(scope.user_id, scope.guest_sessions ?? []))
  else query = query.where('owner_user_id', '=', 'guest').where('owner_session_id', '=', scope.session_id)
  if (except !== undefined) query = query.where('id', '<>', except)
  return Number((await query.executeTakeFirstOrThrow()).bytes)
}

/**
 * Records what an upload will store while it is `processing`: its original (`size`, which may
 * differ from what was uploaded once its metadata is removed) and its derived files' bytes.
 * False when its row is gone.
 */
export async function setStoredBytes(db: Db, id: string, size: number, derived: number): Promise<boolean> {
  const done = await db
    .updateTable('service_media_main')
    .set({ size_bytes: size, metadata: withDerived(derived), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .executeTakeFirst()
  return done.numUpdatedRows > 0n
}

/** `metadata` with `derived_bytes` set, for an update. */
const withDerived = (bytes: number) =>
  sql<Record<string, unknown>>`metadata || jsonb_build_object('derived_bytes', ${bytes}::bigint)`

/**
 * Holds the quota locks of `names` until the transaction ends, so two requests cannot both fit
 * in the same free bytes. One statement, in sorted order: concurrent batches cannot deadlock.
 */
export async function lockQuotas(trx: Db, names: string[]): Promise<void> {
  const sorted = [...new Set(names)].sort()
  await sql`
    select pg_advisory_xact_lock(hashtextextended(s.name, 0))
    from (select n.name from jsonb_array_elements_text(${JSON.stringify(sorted)}::jsonb) as n(name)
          order by n.name) s
  `.execute(trx)
}
