import { type Kysely, sql } from 'kysely'

/**
 * The translation cache gets a retention (see localization/cache-sweep.ts): `used_at`, when a row
 * last answered (or was written), and an index the sweep walks. Rows already there count from
 * now, so upgrading removes nothing at once.
 *
 * Rows written while the caller's context split the cache (a JSON context instead of `''`) become
 * the one row of their text, languages and format: LibreTranslate never saw the context, so such
 * rows were copies of one translation. Where an uncontexted row exists it is kept; otherwise the
 * first of the copies is.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_localization_translation')
    .addColumn('used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_localization_translation_used_at')
    .on('service_localization_translation')
    .column('used_at')
    .execute()
  await sql`
    delete from service_localization_translation t
    where t.context <> '' and exists (
      select 1 from service_localization_translation o
      where o.text_hash = t.text_hash and o.source = t.source and o.target = t.target
        and o.format = t.format and o.context < t.context
    )
  `.execute(db)
  await sql`update service_localization_translation set context = '' where context <> ''`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_localization_translation_used_at').execute()
  await db.schema.alterTable('service_localization_translation').dropColumn('used_at').execute()
}
