import type { Kysely } from 'kysely'

/**
 * A join asks whether the guest session it would continue already belongs to someone else (see
 * `sessionFor` in user.service.ts): memberships found by session, not by scanning them all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('service_user_membership_session')
    .on('service_user_membership')
    .column('session_id')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_user_membership_session').execute()
}
