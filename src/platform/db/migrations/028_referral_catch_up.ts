import { type Kysely, sql } from 'kysely'

/**
 * `service_referral_recheck.caught_up_at`: how far the catch-up of lost qualifications got (see
 * referral.catchup.ts). A referral that qualifies on an action was qualified only after that
 * action committed, by the node that ran it: a node dying (or its database call failing) in
 * between left the referral pending for good. The action's analytics event, committed in the
 * action's own transaction, is the durable record that it happened; a catch-up on every node
 * reads the events since `caught_up_at` (less a margin) and qualifies the pending referrals of
 * the people who sent them. Null: never caught up, so the first catch-up reads them all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_referral_recheck add column if not exists caught_up_at timestamptz`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table service_referral_recheck drop column if exists caught_up_at`.execute(db)
}
