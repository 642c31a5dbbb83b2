import { type Kysely, sql } from 'kysely'

/**
 * Pending referrals re-checked when the rule that qualifies them changes.
 *
 * A campaign's `custom_rules.referral_qualifies_on` (and whether its `referral` feature is on) was
 * read only as each action happened: a referral left pending under one rule stayed pending for
 * good once an admin changed it (to `register`, or to an action the referred person had already
 * done). `service_referral_recheck` holds, per campaign, the rule its pending referrals were last
 * checked against and the campaign version it was read from; when the campaign's rule differs, a
 * pass over its pending referrals (in batches, `after_id` the last one done, any node, the row
 * locked `FOR UPDATE SKIP LOCKED` while a batch runs) qualifies those whose person satisfies the
 * new rule. `passes_left` is 2 after a change: the second pass, once `due_at` is reached, takes
 * what other nodes still missed while their cached campaign held the old rule.
 *
 * No row yet (every campaign after this migration): the first look makes one with one pass, so
 * referrals stranded by a rule change before this release qualify too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_referral_recheck')
    .addColumn('campaign_slug', 'text', (c) => c.primaryKey())
    .addColumn('campaign_version', 'integer', (c) => c.notNull())
    // The rule last seen (`referral_qualifies_on`, or its default); null while referrals are off.
    .addColumn('qualifies_on', 'text')
    .addColumn('after_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('passes_left', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // A pass reads a campaign's pending referrals in id order.
  await sql`create index service_referral_main_pending
            on service_referral_main (campaign_slug, id) where state = 'pending'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_referral_main_pending`.execute(db)
  await db.schema.dropTable('service_referral_recheck').ifExists().execute()
}
