import { type Kysely, sql } from 'kysely'

/**
 * Password reset by mail: one row per link sent, keyed by the SHA-256 of its token (the token is
 * only in the mail), until it is used, superseded by a newer one, or expires. A person's rows go
 * with them; expired ones are swept by expiry.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_user_password_reset')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('service_user_password_reset_user')
    .on('service_user_password_reset')
    .column('user_id')
    .execute()
  await db.schema
    .createIndex('service_user_password_reset_expires')
    .on('service_user_password_reset')
    .column('expires_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_user_password_reset').ifExists().execute()
}
