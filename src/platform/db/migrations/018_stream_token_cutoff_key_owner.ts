import type { Kysely } from 'kysely'

/**
 * Two registry gaps. `tokens_valid_after` on an account: every token of the account issued before
 * it is refused (set by a password change, an admin's revocation, or "log out everywhere"); null
 * for accounts that never had one. `apikey_id` on a stream: the API key that created it, so that
 * key (and admins) may change it as an account owns its streams through `user_id`; null for
 * streams created by accounts, by campaigns, or before this migration (those stay admin-only).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_stream_user').addColumn('tokens_valid_after', 'timestamptz').execute()
  // Keys are revoked, never deleted; `set null` only keeps the reference valid if one ever is.
  await db.schema
    .alterTable('service_stream_main')
    .addColumn('apikey_id', 'text', (c) => c.references('service_security_apikey.id').onDelete('set null'))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_stream_main').dropColumn('apikey_id').execute()
  await db.schema.alterTable('service_stream_user').dropColumn('tokens_valid_after').execute()
}
