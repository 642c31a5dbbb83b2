import { sql, type Selectable, type Updateable, type Insertable } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { StreamMainTable } from '../../platform/db/tables.js'

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

function filtered(db: Db, f: StreamFilters) {
  let q = db.selectFrom('service_stream_main')
  if (f.status !== undefined) q = q.where('status', '=', f.status)
  if (f.notStatus !== undefined) q = q.where('status', '!=', f.notStatus)
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId)
  if (f.isPinned !== undefined) q = q.where('is_pinned', '=', f.isPinned)
  q = q.where('is_archived', '=', f.isArchived ?? false)
  if (f.normalizedLink !== undefined) q = q.where('normalized_link', '=', f.normalizedLink)
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

export async function list(
  db: Db,
  f: StreamFilters,
  page: { limit: number; offset: number },
): Promise<{ rows: StreamRow[]; total: number }> {
  let q = filtered(db, f).selectAll()
  switch (f.sort) {
    case 'name':
      q = q.orderBy(sql`lower(coalesce(title, link))`, 'asc').orderBy('id', 'asc')
      break
    case '-name':
      q = q.orderBy(sql`lower(coalesce(title, link))`, 'desc').orderBy('id', 'desc')
      break
    case 'created':
      q = q.orderBy('created_at', 'asc').orderBy('id', 'asc')
      break
    case '-created':
      q = q.orderBy('created_at', 'desc').orderBy('id', 'desc')
      break
    default:
      q = q.orderBy('is_pinned', 'desc').orderBy('created_at', 'desc').orderBy('id', 'desc')
  }
  const [rows, count] = await Promise.all([
    q.limit(page.limit).offset(page.offset).execute(),
    filtered(db, f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, total: Number(count.n) }
}

export async function findById(db: Db, id: number): Promise<StreamRow | undefined> {
  return db.selectFrom('service_stream_main').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findByNormalizedLink(db: Db, key: string): Promise<StreamRow | undefined> {
  return db
    .selectFrom('service_stream_main')
    .selectAll()
    .where('normalized_link', '=', key)
    .executeTakeFirst()
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
