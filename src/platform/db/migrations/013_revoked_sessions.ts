import { type Kysely, sql } from 'kysely'

/**
 * Guest sessions that stop working: the sessions an erased person joined from. A guest token is
 * not tied to a user, so revoking the person's user tokens left their guest token working, and
 * with it requests recorded under a session erasure had forgotten.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_user_revoked_session')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_user_revoked_session').ifExists().execute()
}
