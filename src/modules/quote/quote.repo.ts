import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { prepared } from '../../platform/db/prepared.js'
import type { LeadStatus } from '../../platform/db/tables.js'
import { leadEmail } from './lead-email.js'
import { LEAD_STATUSES, type LeadFilters, METADATA_MAX_BYTES, METADATA_MAX_KEYS } from './quote.schema.js'

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
 * The lead `id` as its submitter sees it: found only from the session that last sent it, or by
 * the registered user who did (the audience `notifySubmitter` tells of status changes).
 */
export function findOwnLead(db: Db, id: string, owner: { user_id: string; session_id: string }) {
  return db
    .selectFrom('service_quote_main')
    .select(['id', 'campaign_slug', 'status', 'updated_at'])
    .where('id', '=', id)
    .where((eb) =>
      owner.user_id === 'guest'
        ? eb('session_id', '=', owner.session_id)
        : eb.or([eb('session_id', '=', owner.session_id), eb('user_id', '=', owner.user_id)]),
    )
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
    ${prepared('quote-lock-emails')} select pg_advisory_xact_lock(hashtextextended(s.name, 0))
    from (select n.name from jsonb_array_elements_text(${JSON.stringify(names)}::jsonb) as n(name)
          order by n.name) s
  `.execute(trx)
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

/** One submission to write: its values and its caller. */
export interface LeadSubmission {
  campaign: string
  values: LeadValues
  user: { user_id: string; session_id: string }
  /** The id a new lead gets. */
  leadId: string
}

/**
 * Writes submissions of DISTINCT (campaign, email) pairs in one statement, under the caller's
 * `lockEmails`: each merges into its email's open lead from the same submitter (newest of the
 * last 24 h, not erased, not closed: a request after a lead was won or lost is a new one for
 * sales to see, not a change to a lead no one looks at any more; sent from the same session or
 * by the same user: anyone can type an
 * email, so someone else's submission with it must not rewrite that lead, take its status
 * notifications, or learn from the answer that the address asked for a quote),
 * looked up here under the lock (so a racing submission's lead is seen, and one being erased is
 * not), or becomes a new lead. An erasure, or an editor closing the lead (won, lost), committing
 * while this runs (neither takes a lock of ours) makes the merge skip that row; those submissions
 * go again in a new statement, which sees the change and starts a new lead. A merge replaces
 * the fields given, merges metadata (unless the merge would pass the form's limits, which one
 * submission cannot: then the newest metadata replaces the old, so resubmissions cannot grow a
 * lead without bound), keeps consent once given and counts the submission; a guest
 * who registered since keeps the lead under their user id. Returns each submission's written
 * row, in order.
 */
export async function writeLeads(
  trx: Db,
  submissions: LeadSubmission[],
  now = new Date(),
  retries = 2,
): Promise<Array<{ lead: LeadRow; event: 'lead.created' | 'lead.updated' }>> {
  if (submissions.length === 0) return []
  const items = submissions.map((s, i) => ({
    i,
    lead_id: s.leadId,
    campaign_slug: s.campaign,
    ...s.values,
    ...s.user,
  }))
  const { rows } = await sql<LeadRow & { i: number; event: 'lead.created' | 'lead.updated' }>`
    with item as (
      select * from jsonb_to_recordset(${JSON.stringify(items)}::jsonb)
        as i(i int, lead_id text, campaign_slug text, email text, name text, company text,
             phone text, message text, budget text, interest text, locale text, consent boolean,
             metadata jsonb, user_id text, session_id text)
    ),
    target as (
      select item.*, (
        select q.id from service_quote_main q
        where q.campaign_slug = item.campaign_slug and q.email = item.email and q.erased_at is null
          and q.status not in ('won', 'lost')
          and q.created_at > ${new Date(now.getTime() - DEDUPE_WINDOW_MS)}
          and (q.session_id = item.session_id or (item.user_id <> 'guest' and q.user_id = item.user_id))
        order by q.created_at desc
        limit 1
      ) as existing
      from item
    ),
    inserted as (
      insert into service_quote_main (id, campaign_slug, name, email, company, phone, message, budget,
        interest, locale, consent, consent_at, metadata, user_id, session_id)
      select lead_id, campaign_slug, name, email, company, phone, message, budget, interest, locale,
        consent, case when consent then now() end, coalesce(metadata, '{}'::jsonb), user_id, session_id
      from target where existing is null
      order by i
      returning *
    ),
    merged as (
      update service_quote_main q set
        name = t.name,
        company = coalesce(t.company, q.company),
        phone = coalesce(t.phone, q.phone),
        message = coalesce(t.message, q.message),
        budget = coalesce(t.budget, q.budget),
        interest = coalesce(t.interest, q.interest),
        locale = coalesce(t.locale, q.locale),
        consent = q.consent or t.consent,
        consent_at = case when t.consent then coalesce(q.consent_at, now()) else q.consent_at end,
        metadata = case
          when (select count(*) from jsonb_object_keys(q.metadata || coalesce(t.metadata, '{}'::jsonb)))
              <= ${sql.lit(METADATA_MAX_KEYS)}
            and octet_length((q.metadata || coalesce(t.metadata, '{}'::jsonb))::text)
              <= ${sql.lit(METADATA_MAX_BYTES)}
          then q.metadata || coalesce(t.metadata, '{}'::jsonb)
          when coalesce(t.metadata, '{}'::jsonb) = '{}'::jsonb then q.metadata
          else t.metadata
        end,
        submissions = q.submissions + 1,
        user_id = case when t.user_id = 'guest' then q.user_id else t.user_id end,
        session_id = t.session_id,
        updated_at = now()
      from target t
      -- Checked again on the row as it is now: an erasure or an editor closing the lead may have
      -- committed since the target CTE read it (this waited for its row lock).
      where t.existing is not null and q.id = t.existing and q.erased_at is null
        and q.status not in ('won', 'lost')
      returning q.*
    )
    select t.i, 'lead.created' as event, r.* from inserted r join target t on t.existing is null and t.lead_id = r.id
    union all
    select t.i, 'lead.updated' as event, r.* from merged r join target t on t.existing = r.id
    order by i
  `.execute(trx)
  const written = new Map<number, { lead: LeadRow; event: 'lead.created' | 'lead.updated' }>()
  for (const { i, event, ...lead } of rows) written.set(i, { lead: lead as LeadRow, event })
  const missing = submissions.filter((_, i) => !written.has(i))
  if (missing.length > 0) {
    // Their lead was erased or closed while this ran: again, in a statement that sees it.
    if (retries === 0) throw new Error(`writeLeads: ${missing.length} of ${items.length} not written`)
    const again = await writeLeads(trx, missing, now, retries - 1)
    for (const [k, s] of missing.entries()) written.set(submissions.indexOf(s), again[k]!)
  }
  return items.map((_, i) => written.get(i)!)
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

/** The first and last instants PostgreSQL can take as `timestamptz` text from a JS Date (years 1 to 9999). */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')

/**
 * A `from`/`to` filter (an RFC 3339 date-time, as the schema checked) as a time PostgreSQL can
 * take. A leap second (`23:59:60`), which `Date.parse` refuses, is the next second, as PostgreSQL
 * reads it. Year 0 in UTC (`0000-01-01T00:00:00Z`, `0001-01-01T00:00:00+01:00`) is refused by
 * PGlite; no lead is that old (or past 9999), so clamping changes no answer.
 */
function filterTime(value: string): Date {
  let at = Date.parse(value)
  if (Number.isNaN(at)) at = Date.parse(value.replace(/:60(?=[.zZ+-])/, ':59')) + 1000
  return new Date(Math.min(LATEST, Math.max(EARLIEST, at)))
}

/**
 * The admin list's filters as conditions on `service_quote_main`'s columns (unqualified). Text is
 * compared in NFC, the form leads are stored in (see `validateQuote`): an "é" typed as e + U+0301
 * finds the precomposed one.
 */
function conditions(campaign: string, f: LeadFilters): Array<RawBuilder<boolean>> {
  const c = [sql<boolean>`campaign_slug = ${campaign}`]
  if (f.status) c.push(sql<boolean>`status = ${f.status}`)
  if (f.email) c.push(sql<boolean>`email = ${leadEmail(f.email)}`)
  if (f.interest) c.push(sql<boolean>`interest = ${f.interest.normalize('NFC')}`)
  if (f.from) c.push(sql<boolean>`created_at >= ${filterTime(f.from)}`)
  if (f.to) c.push(sql<boolean>`created_at < ${filterTime(f.to)}`)
  if (f.q) {
    const like = `%${f.q.normalize('NFC').replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`
    c.push(sql<boolean>`(name ilike ${like} or email ilike ${like} or company ilike ${like})`)
  }
  return c
}

function filtered(db: Db, campaign: string, f: LeadFilters) {
  let q = db.selectFrom('service_quote_main')
  for (const condition of conditions(campaign, f)) q = q.where(condition)
  return q
}

/**
 * Where the list goes on after lead `id` of `campaign` (its creation time as PostgreSQL's own text,
 * to the microsecond, and its id), or undefined when the campaign has no such lead.
 */
export async function listCursor(db: Db, campaign: string, id: string): Promise<ExportCursor | undefined> {
  const row = await db
    .selectFrom('service_quote_main')
    .select((eb) => [sql<string>`created_at::text`.as('at'), eb.ref('id').as('id')])
    .where('campaign_slug', '=', campaign)
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? { at: row.at, id: row.id } : undefined
}

/**
 * A page of the admin list, newest first; after `before` when given (keyset, so leads arriving or
 * leaving the filters meanwhile shift nothing). `total` counts every lead matching the filters.
 */
export async function listLeads(
  db: Db,
  campaign: string,
  f: LeadFilters,
  limit: number,
  offset: number,
  before?: ExportCursor,
) {
  const q = filtered(db, campaign, f)
  let page = q.selectAll()
  if (before) page = page.where(sql<boolean>`(created_at, id) < (${before.at}::timestamptz, ${before.id})`)
  const [rows, count] = await Promise.all([
    page.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { rows, total: Number(count.n) }
}

/** Where an export page ends: its last row's creation time (as text, to the microsecond) and id. */
export interface ExportCursor {
  at: string
  id: string
}

/**
 * One page of an export, in the list's order (newest first), after `after`: keyset paging, so
 * no row is skipped or repeated. The cursor's time is PostgreSQL's own text, not a JS Date,
 * which would cut the microseconds. Read status by status (a lateral join over the statuses),
 * each a short backward walk of the (campaign, status, created_at) index from the cursor (in
 * that index's order, `with ties` so a time shared by leads of one commit is taken whole, then
 * sorted by id), so a page costs the same however deep the export goes: one sorted read of the
 * whole campaign per page would make an export's cost grow with the square of its size.
 */
export async function exportPage(
  db: Db,
  campaign: string,
  f: LeadFilters,
  limit: number,
  after?: ExportCursor,
): Promise<Array<LeadRow & { cursor_at: string }>> {
  // Every status a lead can have (the lifecycle's): a lead in none of them would be left out.
  const statuses: LeadStatus[] = f.status ? [f.status] : [...LEAD_STATUSES]
  const where = conditions(campaign, { ...f, status: undefined })
  if (after) {
    where.push(
      sql<boolean>`created_at <= ${after.at}::timestamptz`,
      sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id})`,
    )
  }
  const { rows } = await sql<LeadRow & { cursor_at: string }>`
    select l.* from unnest(${statuses}::text[]) as s(wanted)
    cross join lateral (
      select q.*, q.created_at::text as cursor_at from service_quote_main q
      where q.status = s.wanted and ${sql.join(where, sql` and `)}
      order by q.created_at desc
      fetch first ${sql.lit(limit)} rows with ties
    ) l
    order by l.created_at desc, l.id desc
    limit ${limit}
  `.execute(db)
  return rows
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

export interface EraseWhere {
  /** Any of these addresses (as stored). */
  emails?: string[]
  /** First sent at or before this time. */
  createdBy?: Date
  user_id?: string
  campaign?: string
  id?: string
}

/**
 * Erasure: personal fields cleared, the row (and every counter) kept. Leads erased before are
 * left as they are (their erasure time too). Returns the leads erased now, with who sent them.
 */
export async function eraseWhere(db: Db, where: EraseWhere) {
  let q = db
    .updateTable('service_quote_main')
    .set({ ...ERASED, erased_at: new Date() })
    .where('erased_at', 'is', null)
  if (where.id !== undefined) q = q.where('id', '=', where.id)
  if (where.emails !== undefined) q = q.where('email', 'in', where.emails)
  if (where.createdBy !== undefined) q = q.where('created_at', '<=', where.createdBy)
  if (where.user_id !== undefined) q = q.where('user_id', '=', where.user_id)
  if (where.campaign !== undefined) q = q.where('campaign_slug', '=', where.campaign)
  return q.returning(['id', 'campaign_slug', 'erased_at', 'session_id', 'user_id']).execute()
}
