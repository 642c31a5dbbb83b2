import { type Kysely, sql } from 'kysely'

/**
 * The stream registry: StreamSource accounts, revoked token ids, the streams themselves (shared by
 * the `/api/v1` registry and campaign live streams) and small settings (the maintenance switch).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_stream_user')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('default'))
    .addColumn('is_service_account', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('service_stream_token_denylist')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('service_stream_token_denylist_expires')
    .on('service_stream_token_denylist')
    .column('expires_at')
    .execute()

  await db.schema
    .createTable('service_stream_main')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('user_id', 'bigint', (c) => c.references('service_stream_user.id').onDelete('set null'))
    .addColumn('source', 'text')
    .addColumn('link', 'text', (c) => c.notNull())
    // Duplicate detection: one stream per normalised link, enforced by the database.
    .addColumn('normalized_link', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('unknown'))
    .addColumn('is_pinned', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('is_archived', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('city', 'text')
    .addColumn('state', 'text')
    .addColumn('platform', 'text', (c) => c.notNull().defaultTo('other'))
    .addColumn('notes', 'text')
    .addColumn('title', 'text')
    .addColumn('posted_by', 'text')
    .addColumn('orientation', 'text')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('video'))
    .addColumn('last_checked_at', 'timestamptz')
    .addColumn('last_live_at', 'timestamptz')
    // Campaign live streams (issue 5): the campaign, the owner (campaign user id), the lifecycle.
    .addColumn('campaign_slug', 'text')
    .addColumn('owner_id', 'text')
    .addColumn('live_status', 'text')
    .addColumn('ingest_key', 'text')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_stream_main_listing')
    .on('service_stream_main')
    .columns(['is_archived', 'is_pinned', 'created_at'])
    .execute()
  await db.schema
    .createIndex('service_stream_main_user')
    .on('service_stream_main')
    .column('user_id')
    .execute()
  await db.schema
    .createIndex('service_stream_main_live')
    .on('service_stream_main')
    .columns(['live_status', 'campaign_slug'])
    .execute()
  await sql`create index service_stream_main_metadata_gin on service_stream_main using gin (metadata)`.execute(
    db,
  )

  await db.schema
    .createTable('service_stream_setting')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'service_stream_setting',
    'service_stream_main',
    'service_stream_token_denylist',
    'service_stream_user',
  ]) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}
