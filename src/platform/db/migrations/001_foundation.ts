import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_campaign_main')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('draft', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index service_campaign_main_metadata_gin on service_campaign_main using gin (metadata)`.execute(
    db,
  )

  await db.schema
    .createTable('service_campaign_audit')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('changes', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_campaign_audit_slug')
    .on('service_campaign_audit')
    .columns(['campaign_slug', 'id'])
    .execute()

  await db.schema
    .createTable('service_campaign_counter')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('service_campaign_counter_pk', ['campaign_slug', 'name'])
    .execute()

  await db.schema
    .createTable('service_campaign_session')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_campaign_session_pk', ['campaign_slug', 'session_id'])
    .execute()

  await db.schema
    .createTable('service_nexus_request')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('service_nexus_request_pk', ['campaign_slug', 'actor', 'request_id'])
    .execute()
  await db.schema
    .createIndex('service_nexus_request_expires')
    .on('service_nexus_request')
    .column('expires_at')
    .execute()

  await db.schema
    .createTable('service_analytics_event')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull())
    .addColumn('timestamp', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('service_analytics_event_campaign')
    .on('service_analytics_event')
    .columns(['campaign_slug', 'event', 'received_at'])
    .execute()
  await db.schema
    .createIndex('service_analytics_event_user')
    .on('service_analytics_event')
    .columns(['user_id'])
    .execute()
  await sql`create index service_analytics_event_metadata_gin on service_analytics_event using gin (metadata)`.execute(
    db,
  )

  await db.schema
    .createTable('service_security_apikey')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'service_security_apikey',
    'service_analytics_event',
    'service_nexus_request',
    'service_campaign_session',
    'service_campaign_counter',
    'service_campaign_audit',
    'service_campaign_main',
  ]) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}
