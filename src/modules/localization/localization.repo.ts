import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { LocalizationTranslationTable } from '../../platform/db/tables.js'
import type { Catalog } from './localization.schema.js'

export type CacheRow = Omit<LocalizationTranslationTable, 'created_at' | 'used_at'>

export async function findCached(
  db: Db,
  q: { hashes: string[]; source: string; targets: string[]; format: string },
) {
  if (q.hashes.length === 0) return []
  // Any context: it never changed what went upstream (rows written before may carry one).
  return db
    .selectFrom('service_localization_translation')
    .select(['text_hash', 'target', 'translated_text', 'detected_source', 'used_at'])
    .where('text_hash', 'in', q.hashes)
    .where('source', '=', q.source)
    .where('target', 'in', q.targets)
    .where('format', '=', q.format)
    .execute()
}

/**
 * Marks the rows of these texts and languages as used now, those last marked before `staleBefore`
 * only: a row answering all day is written once a day, not on every hit.
 */
export async function touchCached(
  db: Db,
  q: { hashes: string[]; source: string; targets: string[]; format: string; staleBefore: Date },
): Promise<void> {
  if (q.hashes.length === 0) return
  await db
    .updateTable('service_localization_translation')
    .set({ used_at: sql<Date>`now()` })
    .where('text_hash', 'in', q.hashes)
    .where('source', '=', q.source)
    .where('target', 'in', q.targets)
    .where('format', '=', q.format)
    .where('used_at', '<', q.staleBefore)
    .execute()
}

/** Deletes at most `limit` rows last used before `before`; how many went. */
export async function deleteUnused(db: Db, before: Date, limit: number): Promise<number> {
  // By primary key, from a bounded select: DELETE has no LIMIT.
  const res = await sql`
    delete from service_localization_translation
    where (text_hash, source, target, format, context) in (
      select text_hash, source, target, format, context from service_localization_translation
      where used_at < ${before}
      limit ${limit}
    )
  `.execute(db)
  return Number(res.numAffectedRows ?? 0)
}

export async function insertCached(db: Db, rows: CacheRow[]): Promise<void> {
  if (rows.length === 0) return
  await db
    .insertInto('service_localization_translation')
    .values(rows)
    .onConflict((oc) => oc.columns(['text_hash', 'source', 'target', 'format', 'context']).doNothing())
    .execute()
}

/**
 * Catalog rows of every key that matches: by `key`, or whose text in any locale equals one of
 * `texts` (the service checks the locale: tags differ in case and separator).
 */
export async function catalogMatches(db: Db, slug: string, q: { key?: string; texts: string[] }) {
  const keys = db
    .selectFrom('service_localization_catalog')
    .select('key')
    .where('campaign_slug', '=', slug)
    .where((eb) => {
      const byText = eb('text', 'in', q.texts)
      return q.key ? eb.or([byText, eb('key', '=', q.key)]) : byText
    })
  return db
    .selectFrom('service_localization_catalog')
    .select(['key', 'locale', 'text'])
    .where('campaign_slug', '=', slug)
    .where('key', 'in', keys)
    .execute()
}

/** Replace the campaign's whole catalog in one transaction. */
export async function replaceCatalog(db: Db, slug: string, catalog: Catalog): Promise<void> {
  const rows = Object.entries(catalog).flatMap(([key, locales]) =>
    Object.entries(locales).map(([locale, text]) => ({ campaign_slug: slug, key, locale, text })),
  )
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('service_localization_catalog').where('campaign_slug', '=', slug).execute()
    for (let i = 0; i < rows.length; i += 500) {
      await trx
        .insertInto('service_localization_catalog')
        .values(rows.slice(i, i + 500))
        .execute()
    }
  })
}

export async function readCatalog(db: Db, slug: string): Promise<Catalog> {
  const rows = await db
    .selectFrom('service_localization_catalog')
    .select(['key', 'locale', 'text'])
    .where('campaign_slug', '=', slug)
    .orderBy('key')
    .orderBy('locale')
    .execute()
  // A Map, so a key named like an Object.prototype member ("constructor") stays plain data.
  const byKey = new Map<string, Record<string, string>>()
  for (const r of rows) {
    let locales = byKey.get(r.key)
    if (!locales) {
      locales = {}
      byKey.set(r.key, locales)
    }
    locales[r.locale] = r.text
  }
  return Object.fromEntries(byKey)
}

export async function catalogLocales(db: Db, slug: string): Promise<string[]> {
  const rows = await db
    .selectFrom('service_localization_catalog')
    .select('locale')
    .distinct()
    .where('campaign_slug', '=', slug)
    .orderBy('locale')
    .execute()
  return rows.map((r) => r.locale)
}
