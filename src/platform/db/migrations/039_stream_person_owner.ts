import type { Kysely } from 'kysely'

/**
 * `person_id` on a registry stream: the console person (an editor or admin signed in by email and
 * password) whose token created it through `/api/v1`, so that person (and admins) may change it as
 * an API key owns its streams through `apikey_id` and an account through `user_id`; null for
 * streams of accounts, keys, campaigns, or from before this migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // People are erased in place, never deleted; `set null` only keeps the reference valid if one ever is.
  await db.schema
    .alterTable('service_stream_main')
    .addColumn('person_id', 'text', (c) => c.references('service_user_master.id').onDelete('set null'))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_stream_main').dropColumn('person_id').execute()
}
