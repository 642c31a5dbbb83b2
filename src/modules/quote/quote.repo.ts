import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { LeadStatus } from '../../platform/db/tables.js'
import type { LeadFilters } from './quote.schema.js'

export const DEDUPE_WINDOW_MS = 24 * 60 * 60_000

export type LeadRow = NonNullable<Awaited<ReturnType<typeof findLead>>>

export function findLead(db: Db, campaign: string, id: string) {
  return db
    .selectFrom('service_quote_main')
    .selectAll()
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
    .executeTakeFirst()
}

/**
 * Serialises submissions of each (campaign, email) of a commit batch until the transaction ends,
 * so two racing first submissions cannot both insert (the 24 h window is sliding: no unique index
 * can say it). One statement, in sorted order, so two concurrent batches sharing emails cannot
 * deadlock on each other.
 */
export async function lockEmails(trx: Db, keys: Array<{ campaign: string; email: string }>): Promise<void> {
  const names = [...new Set(keys.map((k) => `quote:${k.campaign}:${k.email}`))].sort()
  await sql`
    select pg_advisory_xact_lock(hashtextextended(s.name, 0))
    from (select n.name from jsonb_array_elements_text(${JSON.stringify(names)}::jsonb) as n(name)
          order by n.name) s
  `.execute(trx)
}

/** The newest lead created in the last 24 h of each (campaign, email), in one statement. */
export async function findRecentByEmails(
  db: Db,
  keys: Array<{ campaign: string; email: string }>,
  now = new Date(),
): Promise<Map<string, { id: string; status: LeadStatus }>> {
  const found = new Map<string, { id: string; status: LeadStatus }>()
  if (keys.length === 0) return found
  const pairs = [...new Map(keys.map((k) => [emailKey(k.campaign, k.email), k])).values()]
  // One index probe per key (LATERAL … LIMIT 1 on campaign_slug, email, created_at): a join
  // against the key list would be planned as a hash join over every lead of the table.
  const { rows } = await sql<{ id: string; status: LeadStatus; campaign_slug: string; email: string }>`
    select r.id, r.status, k.campaign as campaign_slug, k.email
    from jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) as k(campaign text, email text)
    cross join lateral (
      select q.id, q.status from service_quote_main q
      where q.campaign_slug = k.campaign and q.email = k.email
        and q.erased_at is null and q.created_at > ${new Date(now.getTime() - DEDUPE_WINDOW_MS)}
      order by q.created_at desc
      limit 1
    ) r
  `.execute(db)
  for (const r of rows) found.set(emailKey(r.campaign_slug, r.email), { id: r.id, status: r.status })
  return found
}

export const emailKey = (campaign: string, email: string) => `${campaign}\u0000${email}`

export interface LeadValues {
  name: string
  email: string
  company: string | null
  phone: string | null
  message: string | null
  budget: string | null
  interest: string | null
  locale: string | null
  consent: boolean
  metadata: Record<string, unknown>
}

export function insertLead(
  trx: Db,
  row: LeadValues & { id: string; campaign_slug: string; user_id: string; session_id: string },
) {
  return trx
    .insertInto('service_quote_main')
    .values({
      ...row,
      metadata: JSON.stringify(row.metadata),
      consent_at: row.consent ? new Date() : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** `insertLead` for several new leads in one statement; returns the rows by id. */
export async function insertLeads(
  trx: Db,
  rows: Array<LeadValues & { id: string; campaign_slug: string; user_id: string; session_id: string }>,
): Promise<Map<string, LeadRow>> {
  if (rows.length === 0) return new Map()
  const now = new Date()
  const inserted = await trx
    .insertInto('service_quote_main')
    .values(
      rows.map((row) => ({
        ...row,
        metadata: JSON.stringify(row.metadata),
        consent_at: row.consent ? now : null,
      })),
    )
    .returningAll()
    .execute()
  return new Map(inserted.map((r) => [r.id, r]))
}

/** A repeat submission: given fields replace stored ones, metadata merges, the count goes up. */
export function mergeLead(
  trx: Db,
  id: string,
  values: LeadValues,
  user: { user_id: string; session_id: string },
) {
  const keep = <K extends keyof LeadValues>(k: K) =>
    values[k] === null ? sql.ref(k) : sql`${values[k] as string}`
  return trx
    .updateTable('service_quote_main')
    .set({
      name: values.name,
      company: keep('company') as any,
      phone: keep('phone') as any,
      message: keep('message') as any,
      budget: keep('budget') as any,
      interest: keep('interest') as any,
      locale: keep('locale') as any,
      consent: values.consent ? true : (sql`consent` as any),
      consent_at: values.consent ? (sql`coalesce(consent_at, now())` as any) : (sql`consent_at` as any),
      metadata: sql`metadata || ${JSON.stringify(values.metadata)}::jsonb` as any,
      submissions: sql`submissions + 1` as any,
      // A guest who registered since keeps their lead reachable under the user id.
      user_id: user.user_id === 'guest' ? (sql`user_id` as any) : user.user_id,
      session_id: user.session_id,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export function lockLead(trx: Db, campaign: string, id: string) {
  return trx
    .selectFrom('service_quote_main')
    .selectAll()
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
}

export function setStatus(trx: Db, id: string, status: LeadStatus) {
  return trx
    .updateTable('service_quote_main')
    .set({ status, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

function filtered(db: Db, campaign: string, f: LeadFilters) {
  let q = db.selectFrom('service_quote_main').where('campaign_slug', '=', campaign)
  if (f.status) q = q.where('status', '=', f.status)
  if (f.email) q = q.where('email', '=', f.email.trim().toLowerCase())
  if (f.interest) q = q.where('interest', '=', f.interest)
  if (f.from) q = q.where('created_at', '>=', new Date(f.from))
  if (f.to) q = q.where('created_at', '<', new Date(f.to))
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    q = q.where((eb) =>
      eb.or([eb('name', 'ilike', like), eb('email', 'ilike', like), eb('company', 'ilike', like)]),
    )
  }
  return q
}

export async function listLeads(db: Db, campaign: string, f: LeadFilters, limit: number, offset: number) {
  const q = filtered(db, campaign, f)
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { rows, total: Number(count.n) }
}

export function allLeads(db: Db, campaign: string, f: LeadFilters, max: number) {
  return filtered(db, campaign, f)
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(max)
    .execute()
}

const ERASED = {
  email: null,
  name: null,
  company: null,
  phone: null,
  message: null,
  budget: null,
  interest: null,
  metadata: JSON.stringify({}),
}

/** Erasure: personal fields cleared, the row (and every counter) kept. Returns the lead ids. */
export async function eraseWhere(db: Db, where: { email?: string; user_id?: string; campaign?: string }) {
  let q = db.updateTable('service_quote_main').set({ ...ERASED, erased_at: new Date() })
  if (where.email !== undefined) q = q.where('email', '=', where.email)
  if (where.user_id !== undefined) q = q.where('user_id', '=', where.user_id)
  if (where.campaign !== undefined) q = q.where('campaign_slug', '=', where.campaign)
  const rows = await q.returning('id').execute()
  return rows.map((r) => r.id)
}
