import { type Kysely, sql } from 'kysely'

/** The lead form's free-text columns, stored in NFC since QA 30d (quote.validate.ts). */
const TEXT_COLUMNS = ['name', 'company', 'message', 'budget', 'interest'] as const
const BATCH = 1000

/**
 * `canonicalLocale` as this release wrote it (src/modules/quote/quote.validate.ts), frozen here
 * so a later change to the module cannot change what this migration did; undefined for a tag
 * with no canonical form.
 */
function canonicalLocale(typed: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(typed.replaceAll('_', '-'))[0]
  } catch {
    return undefined
  }
}

/**
 * Leads stored before QA 30d kept their text as typed (an "é" as e + U+0301) and their locale as
 * typed (`EN-us`), where new ones are stored in NFC and canonical: the list's NFC search and a
 * locale filter missed the old ones. The text is rewritten by the database (`normalize`, only the
 * rows not in NFC already; a database not in UTF-8 cannot hold such text and is left alone); the
 * locales, few distinct values, by JavaScript's `Intl` as new leads get them. `updated_at` stays:
 * the lead did not change, its spelling did.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ encoding: string }>`
    select pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()`.execute(
    db,
  )
  if (rows[0]?.encoding === 'UTF8') {
    const set = sql.join(TEXT_COLUMNS.map((c) => sql`${sql.ref(c)} = normalize(${sql.ref(c)}, NFC)`))
    const unnormalised = sql.join(
      TEXT_COLUMNS.map((c) => sql`${sql.ref(c)} is not nfc normalized`),
      sql` or `,
    )
    await sql`update service_quote_main set ${set} where ${unnormalised}`.execute(db)
  }
  const locales = await sql<{ locale: string }>`
    select distinct locale from service_quote_main where locale is not null`.execute(db)
  const changes = locales.rows
    .map((r) => ({ from: r.locale, to: canonicalLocale(r.locale) }))
    .filter((c): c is { from: string; to: string } => c.to !== undefined && c.to !== c.from)
  for (let i = 0; i < changes.length; i += BATCH) {
    await sql`
      update service_quote_main q set locale = c."to"
      from jsonb_to_recordset(${JSON.stringify(changes.slice(i, i + BATCH))}::jsonb) as c("from" text, "to" text)
      where q.locale = c."from"`.execute(db)
  }
}

/** The typed forms cannot be told back from the normal ones: the leads stay as they are now. */
export async function down(): Promise<void> {}
