import { type Kysely, sql } from 'kysely'

/**
 * The person a stored answer is about. A join sent with another person's credential (a friend's
 * logged-in browser, an operator's API key) is stored under that credential's actor, yet its
 * answer holds the new person's email, name, referral code and token: erasure finds such answers
 * by this column (see `forgetResponses` in nexus/idempotency.ts). Only joins' answers name one,
 * so the index holds only them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_nexus_request').addColumn('subject_user_id', 'text').execute()
  await sql`
    create index service_nexus_request_subject on service_nexus_request (subject_user_id)
    where subject_user_id is not null
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_nexus_request_subject').ifExists().execute()
  await db.schema.alterTable('service_nexus_request').dropColumn('subject_user_id').execute()
}
