import type { Kysely } from 'kysely'

/**
 * What a request_id was first used for (a hash of the action and its payload; see
 * `requestFingerprint` in nexus/idempotency.ts), so a later request reusing the id for something
 * else is refused instead of answered with the first request's success. Null for records written
 * before: those are replayed as before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_nexus_request').addColumn('fingerprint', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_nexus_request').dropColumn('fingerprint').execute()
}
