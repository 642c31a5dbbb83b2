import { type Kysely, sql } from 'kysely'

/**
 * Where a person is signed in: one row per person and session a user token was issued for (a join,
 * a login, a refresh, a password change), with the browser's User-Agent and client network it last
 * came from, when the session was authenticated and when it last got a token, and the person's cut-off that
 * token was issued under (a later one, "log out everywhere", refuses it). What "Your account"
 * lists, and ends one at a time. A person's rows go with them; old ones are swept with the
 * revocations.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_user_signin')
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id').onDelete('cascade'))
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('network', 'text')
    .addColumn('signed_in_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_active_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('cut_off', 'timestamptz')
    .addPrimaryKeyConstraint('service_user_signin_pk', ['user_id', 'session_id'])
    .execute()
  await db.schema
    .createIndex('service_user_signin_active')
    .on('service_user_signin')
    .column('last_active_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_user_signin').ifExists().execute()
}
