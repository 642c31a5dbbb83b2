import type { Kysely } from 'kysely'

/**
 * Who made a member: a person who joins presenting another person's user token (a second account
 * made from a logged-in browser) gets a session of their own, so the membership records whose
 * token it was and that token's session. The referral rules refuse that person's code, and the
 * codes of people who joined from that session, whenever the new member applies one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_user_membership')
    .addColumn('joined_via_user_id', 'text')
    .addColumn('joined_via_session_id', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_user_membership')
    .dropColumn('joined_via_user_id')
    .dropColumn('joined_via_session_id')
    .execute()
}
