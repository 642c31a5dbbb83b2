import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // One row per person. `email` is null once the person is erased (the row stays so counters,
  // referrals and foreign ids keep pointing somewhere).
  await db.schema
    .createTable('service_user_master')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('locale', 'text')
    .addColumn('consent', 'jsonb')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('erased_at', 'timestamptz')
    .execute()
  await sql`create index service_user_master_metadata_gin on service_user_master using gin (metadata)`.execute(
    db,
  )

  // A person's membership of one campaign, with their referral code there.
  await db.schema
    .createTable('service_user_membership')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id'))
    .addColumn('referral_code', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_user_membership_pk', ['campaign_slug', 'user_id'])
    .addUniqueConstraint('service_user_membership_code', ['campaign_slug', 'referral_code'])
    .execute()
  await db.schema
    .createIndex('service_user_membership_user')
    .on('service_user_membership')
    .column('user_id')
    .execute()

  // One referral per referred person and campaign.
  await db.schema
    .createTable('service_referral_main')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('referrer_id', 'text', (c) => c.notNull())
    .addColumn('referred_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'qualified', 'rejected')`))
    .addColumn('reason', 'text')
    .addColumn('ip_hash', 'text', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('service_referral_main_referred', ['campaign_slug', 'referred_id'])
    .execute()
  await db.schema
    .createIndex('service_referral_main_referrer')
    .on('service_referral_main')
    .columns(['campaign_slug', 'referrer_id', 'state'])
    .execute()
  await sql`create index service_referral_main_metadata_gin on service_referral_main using gin (metadata)`.execute(
    db,
  )

  // Every state change (and every refused attempt, with referral_id null).
  await db.schema
    .createTable('service_referral_audit')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('referral_id', 'bigint')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_referral_audit_campaign')
    .on('service_referral_audit')
    .columns(['campaign_slug', 'id'])
    .execute()

  // Per referrer counters: incremented in place, never recounted.
  await db.schema
    .createTable('service_referral_counter')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('qualified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_referral_counter_pk', ['campaign_slug', 'user_id'])
    .execute()
  await sql`create index service_referral_counter_rank on service_referral_counter (campaign_slug, qualified desc, updated_at)`.execute(
    db,
  )

  // Referrals per code and client IP, for the per-IP cap.
  await db.schema
    .createTable('service_referral_ipcount')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('ip_hash', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('service_referral_ipcount_pk', ['campaign_slug', 'code', 'ip_hash'])
    .execute()

  // One row per (campaign, user, threshold): the row's insert is what makes a milestone fire once.
  await db.schema
    .createTable('service_referral_milestone')
    .addColumn('campaign_slug', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('reached_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_referral_milestone_pk', ['campaign_slug', 'user_id', 'threshold'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'service_referral_milestone',
    'service_referral_ipcount',
    'service_referral_counter',
    'service_referral_audit',
    'service_referral_main',
    'service_user_membership',
    'service_user_master',
  ]) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}
