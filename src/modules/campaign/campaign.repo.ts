import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { type Campaign, metadataFromColumn } from './campaign.schema.js'

const columns = [
  'id',
  'slug',
  'title',
  'description',
  'draft',
  'metadata',
  'version',
  'created_by',
  'created_at',
  'updated_at',
  'archived_at',
] as const

/** A row as services read it: `metadata` always an object (see `metadataFromColumn`). */
function toCampaign(row: object | undefined): Campaign | undefined {
  if (!row) return undefined
  const c = row as Campaign
  const metadata = metadataFromColumn(c.metadata)
  return metadata === c.metadata ? c : { ...c, metadata }
}

export async function findBySlug(db: Db, slug: string): Promise<Campaign | undefined> {
  return toCampaign(
    await db.selectFrom('service_campaign_main').select(columns).where('slug', '=', slug).executeTakeFirst(),
  )
}

/** Which of `slugs` name a campaign (archived ones too, as `findBySlug` finds them), in one query. */
export async function existingSlugs(db: Db, slugs: readonly string[]): Promise<Set<string>> {
  if (slugs.length === 0) return new Set()
  const rows = await db
    .selectFrom('service_campaign_main')
    .select('slug')
    .where('slug', 'in', slugs)
    .execute()
  return new Set(rows.map((r) => r.slug))
}

/**
 * The campaign, its row locked until the transaction ends: concurrent changes queue behind one
 * another, so each applies to what the previous one left instead of failing on a stale version.
 */
export async function findForUpdate(trx: Db, slug: string): Promise<Campaign | undefined> {
  return toCampaign(
    await trx
      .selectFrom('service_campaign_main')
      .select(columns)
      .where('slug', '=', slug)
      .forUpdate()
      .executeTakeFirst(),
  )
}

export async function list(
  db: Db,
  opts: { includeArchived: boolean; limit: number; offset: number; tag?: string },
): Promise<{ rows: Campaign[]; total: number }> {
  let q = db.selectFrom('service_campaign_main')
  if (!opts.includeArchived) q = q.where('archived_at', 'is', null)
  if (opts.tag) q = q.where(sql<boolean>`metadata @> ${JSON.stringify({ tags: [opts.tag] })}::jsonb`)
  const [rows, count] = await Promise.all([
    q.select(columns).orderBy('id', 'desc').limit(opts.limit).offset(opts.offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map((r) => toCampaign(r)!), total: Number(count.n) }
}

export async function insert(
  db: Db,
  row: {
    slug: string
    title: string
    description: string
    draft: boolean
    metadata: object
    created_by: string
  },
): Promise<Campaign | undefined> {
  return toCampaign(
    await db
      .insertInto('service_campaign_main')
      .values({ ...row, metadata: JSON.stringify(row.metadata), updated_at: new Date() })
      .onConflict((oc) => oc.column('slug').doNothing())
      .returning(columns)
      .executeTakeFirst(),
  )
}

/** Update when `version` still matches; returns undefined when another change won. */
export async function update(
  db: Db,
  slug: string,
  version: number,
  patch: {
    title?: string
    description?: string
    draft?: boolean
    metadata?: object
    archived_at?: Date | null
  },
): Promise<Campaign | undefined> {
  return toCampaign(
    await db
      .updateTable('service_campaign_main')
      .set({
        ...patch,
        metadata: patch.metadata ? JSON.stringify(patch.metadata) : undefined,
        version: sql`version + 1`,
        updated_at: new Date(),
      })
      .where('slug', '=', slug)
      .where('version', '=', version)
      .returning(columns)
      .executeTakeFirst(),
  )
}

export async function insertAudit(
  db: Db,
  row: { campaign_slug: string; actor: string; action: string; changes: object },
) {
  await db
    .insertInto('service_campaign_audit')
    .values({ ...row, changes: JSON.stringify(row.changes) })
    .execute()
}

export async function listAudit(db: Db, slug: string, limit: number) {
  return db
    .selectFrom('service_campaign_audit')
    .select(['id', 'actor', 'action', 'changes', 'at'])
    .where('campaign_slug', '=', slug)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}

/**
 * A campaign's figures for its stats: the modules' counters, and the `maxEvents` most counted of
 * its tracked event names (visitors name those, as many as they like) with how many names there are.
 */
export async function statsCounters(
  db: Db,
  slug: string,
  maxEvents: number,
): Promise<{ counters: Record<string, number>; events: Record<string, number>; eventNames: number }> {
  const sum = sql<string>`sum(count)`
  const own = await db
    .selectFrom('service_campaign_counter')
    .select(['name', sum.as('count')])
    .where('campaign_slug', '=', slug)
    .where('name', 'not like', 'event:%')
    .groupBy('name')
    .execute()
  const top = await db
    .selectFrom('service_campaign_counter')
    .select(['name', sum.as('count'), sql<string>`count(*) over ()`.as('names')])
    .where('campaign_slug', '=', slug)
    .where('name', 'like', 'event:%')
    .groupBy('name')
    .orderBy(sum, 'desc')
    .orderBy('name')
    .limit(maxEvents)
    .execute()
  return {
    counters: Object.fromEntries(own.map((r) => [r.name, Number(r.count)])),
    events: Object.fromEntries(top.map((r) => [r.name.slice('event:'.length), Number(r.count)])),
    eventNames: Number(top[0]?.names ?? 0),
  }
}

export async function counters(db: Db, slug: string, names?: string[]): Promise<Record<string, number>> {
  if (names?.length === 0) return {}
  const rows = await db
    .selectFrom('service_campaign_counter')
    .select(['name', (eb) => eb.fn.sum<string>('count').as('count')])
    .where('campaign_slug', '=', slug)
    .$if(names !== undefined, (q) => q.where('name', 'in', names!))
    .groupBy('name')
    .execute()
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.count)]))
}
