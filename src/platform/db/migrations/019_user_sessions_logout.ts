import { type Kysely, sql } from 'kysely'

/**
 * Two user-module gaps. `service_user_session`: the sessions a person continued by logging in (or
 * by joining again) from a guest session, which no membership records; erasure finds their
 * events, uploads and tokens through it as through memberships. `tokens_valid_after` on a person:
 * every user token of theirs issued before it is refused ("log out everywhere"); null for people
 * who never had one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_user_session')
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id'))
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('linked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_user_session_pk', ['user_id', 'session_id'])
    .execute()
  // Erasure asks who else uses a session: by session, not by scanning everyone's.
  await db.schema
    .createIndex('service_user_session_session')
    .on('service_user_session')
    .column('session_id')
    .execute()
  await db.schema.alterTable('service_user_master').addColumn('tokens_valid_after', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_user_master').dropColumn('tokens_valid_after').execute()
  await db.schema.dropTable('service_user_session').ifExists().execute()
}
