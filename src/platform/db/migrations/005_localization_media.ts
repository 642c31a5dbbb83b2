import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // Translation cache: one row per (text, languages, format, context), so a string is paid for once.
  await db.schema
    .createTable('service_localization_translation')
    .addColumn('text_hash', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('context', 'text', (c) => c.notNull())
    .addColumn('source_text', 'text', (c) => c.notNull())
    .addColumn('translated_text', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('detected_source', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_localization_translation_pk', [
      'text_hash',
      'source',
      'target',
      'format',
      'context',
    ])
    .execute()

  // Campaign catalogs: key → locale → text, uploaded by admins.
  await db.schema
    .createTable('service_localization_catalog')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_localization_catalog_pk', ['campaign_slug', 'key', 'locale'])
    .execute()
  await db.schema
    .createTable('service_media_main')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('owner_user_id', 'text', (c) => c.notNull())
    .addColumn('owner_session_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('declared_type', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('max_bytes', 'bigint', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('thumbnail_key', 'text')
    .addColumn('upload_expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('upload_used_at', 'timestamptz')
    .addColumn('failure_reason', 'text')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_media_main_campaign')
    .on('service_media_main')
    .columns(['campaign_slug', 'created_at'])
    .execute()
  await sql`create index service_media_main_metadata_gin on service_media_main using gin (metadata)`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_media_main').ifExists().execute()
  await db.schema.dropTable('service_localization_catalog').ifExists().execute()
  await db.schema.dropTable('service_localization_translation').ifExists().execute()
}
