import type { Kysely } from 'kysely'

/**
 * Media quotas sum an uploader's rows over every campaign (see media.quota.ts) while holding
 * that uploader's lock: without this index each upload request scanned the whole media table.
 * `owner_user_id` first: a user's rows are found by it alone, a guest session's by both.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('service_media_main_owner')
    .on('service_media_main')
    .columns(['owner_user_id', 'owner_session_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_media_main_owner').execute()
}
