import { type Kysely, sql } from 'kysely'

/** Leads (QuoteService) and CRM webhooks: endpoints, the transactional outbox, the delivery log. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_quote_main')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    // Trimmed and lower-cased: the dedupe key. Null once the person is erased.
    .addColumn('email', 'text')
    .addColumn('name', 'text')
    .addColumn('company', 'text')
    .addColumn('phone', 'text')
    .addColumn('message', 'text')
    .addColumn('budget', 'text')
    .addColumn('interest', 'text')
    .addColumn('locale', 'text')
    .addColumn('consent', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('consent_at', 'timestamptz')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('new'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('submissions', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('erased_at', 'timestamptz')
    .execute()
  await db.schema
    .createIndex('service_quote_main_email')
    .on('service_quote_main')
    .columns(['campaign_slug', 'email', 'created_at'])
    .execute()
  await db.schema
    .createIndex('service_quote_main_list')
    .on('service_quote_main')
    .columns(['campaign_slug', 'status', 'created_at'])
    .execute()
  await db.schema.createIndex('service_quote_main_user').on('service_quote_main').column('user_id').execute()
  await sql`create index service_quote_main_metadata_gin on service_quote_main using gin (metadata)`.execute(
    db,
  )

  await db.schema
    .createTable('service_notification_webhook')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'jsonb', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // AES-256-GCM sealed `whsec_…` secret: signing needs the secret itself, a hash would not do.
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('circuit_open_until', 'timestamptz')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_notification_webhook_campaign')
    .on('service_notification_webhook')
    .column('campaign_slug')
    .execute()

  await db.schema
    .createTable('service_notification_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    // The Standard Webhooks `webhook-id`: one per event, shared by every endpoint and every retry.
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) =>
      c.notNull().references('service_notification_webhook.id').onDelete('cascade'),
    )
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('service_notification_outbox_message', ['message_id', 'webhook_id'])
    .execute()
  await db.schema
    .createIndex('service_notification_outbox_due')
    .on('service_notification_outbox')
    .columns(['status', 'next_attempt_at'])
    .execute()
  await db.schema
    .createIndex('service_notification_outbox_subject')
    .on('service_notification_outbox')
    .column('subject_id')
    .execute()

  await db.schema
    .createTable('service_notification_delivery')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('outbox_id', 'bigint', (c) =>
      c.notNull().references('service_notification_outbox.id').onDelete('cascade'),
    )
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_notification_delivery_webhook')
    .on('service_notification_delivery')
    .columns(['webhook_id', 'id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'service_notification_delivery',
    'service_notification_outbox',
    'service_notification_webhook',
    'service_quote_main',
  ]) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}
