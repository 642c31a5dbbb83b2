import { type Insertable, type RawBuilder, type Selectable, sql, type Updateable } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { StreamMainTable } from '../../platform/db/tables.js'
import { channelSpan, olderLinkKeys } from './stream.links.js'

export type StreamRow = Selectable<StreamMainTable>
export type StreamInsert = Insertable<StreamMainTable>
export type StreamPatch = Updateable<StreamMainTable>

export interface StreamFilters {
  status?: string
  notStatus?: string
  userId?: number
  isPinned?: boolean
  /** undefined: archived streams are left out, as wall displays expect. */
  isArchived?: boolean
  normalizedLink?: string
  platform?: string
  search?: string
  campaign?: string
  sort?: 'name' | '-name' | 'created' | '-created'
}

/**
 * Rows whose link has the key `key` (as `normalizeLink` makes it), or one of the keys it was
 * stored under before mobile sites and a YouTube video's other forms were folded
 * (`olderLinkKeys`): at most ten keys, each found through an index on `normalized_link`.
 */
function sameLink(key: string) {
  const keys = [key, ...olderLinkKeys(key)]
  const named = keys.filter((k) => channelSpan(k))
  const exact = keys.filter((k) => !channelSpan(k))
  const terms = named.map(sameKey)
  if (exact.length > 0) terms.unshift(sql<boolean>`normalized_link in (${sql.join(exact)})`)
  return terms.length === 1 ? terms[0]! : sql<boolean>`(${sql.join(terms, sql` or `)})`
}

/**
 * Rows whose key is `key`. Keys stored before channel names were lower-cased may hold the name
 * in any case (`twitch.tv/Foo`): where the key has a name (`channelSpan`) it is compared without
 * case, the rest of the key exactly (a video id's case matters). The `lower(...)` term is implied
 * by the others; an index on `lower(normalized_link)` would serve it.
 */
function sameKey(key: string) {
  const span = channelSpan(key)
  if (!span) return sql<boolean>`normalized_link = ${key}`
  const [start, end] = span
  return sql<boolean>`(normalized_link = ${key} or (lower(normalized_link) = ${key.toLowerCase()}
    and left(normalized_link, ${sql.lit(start)}) = ${key.slice(0, start)}
    and substr(normalized_link, ${sql.lit(end + 1)}) = ${key.slice(end)}))`
}

function filtered(db: Db, f: StreamFilters) {
  let q = db.selectFrom('service_stream_main')
  if (f.status !== undefined) q = q.where('status', '=', f.status)
  if (f.notStatus !== undefined) q = q.where('status', '!=', f.notStatus)
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId)
  if (f.isPinned !== undefined) q = q.where('is_pinned', '=', f.isPinned)
  q = q.where('is_archived', '=', f.isArchived ?? false)
  if (f.normalizedLink !== undefined) q = q.where(sameLink(f.normalizedLink))
  if (f.platform !== undefined) q = q.where('platform', '=', f.platform)
  if (f.campaign !== undefined) q = q.where('campaign_slug', '=', f.campaign)
  if (f.search) {
    const like = `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    q = q.where((eb) =>
      eb.or(
        (['title', 'link', 'source', 'posted_by', 'city', 'state', 'notes'] as const).map((c) =>
          eb(sql`coalesce(${sql.ref(c)}, '')`, 'ilike', like),
        ),
      ),
    )
  }
  return q
}

/**
 * The list's order as a key whose parts all run one way (so one row comparison pages it), each
 * with the type its text form casts back to: `name` sorts by title (else link) then id, `created`
 * by time then id, the default puts pinned first, then newest. The id last makes every key unique.
 */
function sortKey(sort: StreamFilters['sort']) {
  const part = (expr: RawBuilder<unknown>, type: string) => ({ expr, type: sql.raw(type) })
  const id = part(sql`id`, 'bigint')
  const created = part(sql`created_at`, 'timestamptz')
  switch (sort) {
    case 'name':
    case '-name':
      return { parts: [part(sql`lower(coalesce(title, link))`, 'text'), id], desc: sort === '-name' }
    case 'created':
    case '-created':
      return { parts: [created, id], desc: sort === '-created' }
    default:
      return { parts: [part(sql`is_pinned`, 'boolean'), created, id], desc: true }
  }
}

function ordered(db: Db, f: StreamFilters) {
  const { parts, desc } = sortKey(f.sort)
  let q = filtered(db, f).selectAll()
  for (const p of parts) q = q.orderBy(p.expr, desc ? 'desc' : 'asc')
  return q
}

export async function list(
  db: Db,
  f: StreamFilters,
  page: { limit: number; offset: number },
): Promise<{ rows: StreamRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    ordered(db, f).limit(page.limit).offset(page.offset).execute(),
    filtered(db, f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, total: Number(count.n) }
}

/** Where an export page ended: its last row's sort key, as PostgreSQL's own text (see `exportPage`). */
export type ExportCursor = string[]

/**
 * One page of an export in the list's order, after `after`: keyset paging (a row comparison on
 * the sort key), so no row is skipped or repeated however many pages it takes, and no page reads
 * past the rows before it as an offset would. The key travels as text: a JS Date would cut
 * `created_at`'s microseconds, and the next page would repeat rows.
 */
export async function exportPage(
  db: Db,
  f: StreamFilters,
  limit: number,
  after?: ExportCursor,
): Promise<{ rows: StreamRow[]; next?: ExportCursor }> {
  const { parts, desc } = sortKey(f.sort)
  let q = ordered(db, f).select(parts.map((p, i) => sql<string>`(${p.expr})::text`.as(`cursor_${i}`)))
  if (after) {
    const columns = sql.join(parts.map((p) => p.expr))
    // Each value goes as text, cast by the query: drivers would otherwise convert it by the type
    // they infer for the parameter (PGlite refuses the string 'true' for a boolean).
    const values = sql.join(parts.map((p, i) => sql`cast(${after[i]}::text as ${p.type})`))
    q = q.where(sql<boolean>`(${columns}) ${sql.raw(desc ? '<' : '>')} (${values})`)
  }
  const rows = (await q.limit(limit).execute()) as Array<StreamRow & Record<string, unknown>>
  const last = rows.at(-1)
  const next = last ? parts.map((_, i) => String(last[`cursor_${i}`])) : undefined
  for (const row of rows) for (let i = 0; i < parts.length; i++) delete row[`cursor_${i}`]
  return { rows, next }
}

export async function findById(db: Db, id: number): Promise<StreamRow | undefined> {
  return db.selectFrom('service_stream_main').selectAll().where('id', '=', id).executeTakeFirst()
}

/** The stream whose link has the key `key` (see `sameLink`), other than `exceptId`; the exact key first. */
export async function findByNormalizedLink(
  db: Db,
  key: string,
  exceptId?: number,
): Promise<StreamRow | undefined> {
  let q = db.selectFrom('service_stream_main').selectAll().where(sameLink(key))
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId)
  return q.orderBy(sql`normalized_link = ${key}`, 'desc').orderBy('id').limit(1).executeTakeFirst()
}

/** Inserts unless the normalised link exists; `undefined` then (the caller returns the existing one). */
export async function insert(db: Db, values: StreamInsert): Promise<StreamRow | undefined> {
  return db
    .insertInto('service_stream_main')
    .values(values)
    .onConflict((oc) => oc.column('normalized_link').doNothing())
    .returningAll()
    .executeTakeFirst()
}

export async function update(db: Db, id: number, patch: StreamPatch): Promise<StreamRow | undefined> {
  return db
    .updateTable('service_stream_main')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

/** Unarchives the row if it is archived: `undefined` when it is not (or no longer exists). */
export async function unarchive(db: Db, id: number): Promise<StreamRow | undefined> {
  return db
    .updateTable('service_stream_main')
    .set({ is_archived: false, updated_at: new Date() })
    .where('id', '=', id)
    .where('is_archived', '=', true)
    .returningAll()
    .executeTakeFirst()
}

/**
 * A campaign stream's lifecycle step, only from the states in `from`: `undefined` when the row
 * moved on meanwhile (a concurrent stop), so two racing steps never both apply.
 */
export async function updateLive(
  db: Db,
  id: number,
  from: readonly string[],
  patch: StreamPatch,
): Promise<StreamRow | undefined> {
  return db
    .updateTable('service_stream_main')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .where('live_status', 'in', from)
    .returningAll()
    .executeTakeFirst()
}

export async function remove(db: Db, id: number): Promise<StreamRow | undefined> {
  return db.deleteFrom('service_stream_main').where('id', '=', id).returningAll().executeTakeFirst()
}

/** Campaign streams currently live, for the viewer ticks. */
export async function live(db: Db): Promise<Array<{ id: number; campaign_slug: string | null }>> {
  return db
    .selectFrom('service_stream_main')
    .select(['id', 'campaign_slug'])
    .where('live_status', '=', 'live')
    .where('campaign_slug', 'is not', null)
    .execute()
}

/**
 * Erasure: every campaign stream `owner` started is ended if it was not, and keeps nothing that
 * names them (title, `owner_id`, `posted_by`, the session in `metadata`). `ended`: the ids of
 * those that were still open; `rows`: all of them, as they are now.
 */
export async function eraseOwner(db: Db, owner: string): Promise<{ ended: number[]; rows: StreamRow[] }> {
  const now = new Date()
  const ended = await db
    .updateTable('service_stream_main')
    .set({ live_status: 'ended', status: 'offline', last_checked_at: now, updated_at: now })
    .where('owner_id', '=', owner)
    .where('live_status', 'in', ['starting', 'live', 'paused'])
    .returning('id')
    .execute()
  const rows = await db
    .updateTable('service_stream_main')
    .set({ title: null, owner_id: null, posted_by: null, metadata: '{}', updated_at: now })
    .where('owner_id', '=', owner)
    .returningAll()
    .execute()
  return { ended: ended.map((r) => Number(r.id)), rows }
}

/** The ids of `owner`'s streams in `campaign` that have not ended, oldest first. */
export async function openByOwner(db: Db, campaign: string, owner: string): Promise<number[]> {
  const rows = await db
    .selectFrom('service_stream_main')
    .select('id')
    .where('live_status', 'in', ['starting', 'live', 'paused'])
    .where('campaign_slug', '=', campaign)
    .where('owner_id', '=', owner)
    .orderBy('id')
    .execute()
  return rows.map((r) => Number(r.id))
}

/** A campaign's streams that have not ended (starting, live or paused), oldest first. */
export async function currentInCampaign(
  db: Db,
  campaign: string,
): Promise<Array<Pick<StreamRow, 'id' | 'title' | 'live_status' | 'last_live_at' | 'owner_id'>>> {
  return db
    .selectFrom('service_stream_main')
    .select(['id', 'title', 'live_status', 'last_live_at', 'owner_id'])
    .where('campaign_slug', '=', campaign)
    .where('live_status', 'in', ['starting', 'live', 'paused'])
    .orderBy('id')
    .execute()
}
