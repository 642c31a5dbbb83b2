import { type Kysely, sql } from 'kysely'

/**
 * Email verification: when a person proved they read their address's mail (a verification link,
 * or a password-reset one), and one row per verification link sent, keyed by the SHA-256 of its
 * token (the token is only in the mail), with the address it was sent to: a link confirms that
 * address only. A row goes when used, superseded by a newer link, or expired (swept by expiry).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_user_master').addColumn('email_verified_at', 'timestamptz').execute()
  await db.schema
    .createTable('service_user_email_verification')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('service_user_email_verification_user')
    .on('service_user_email_verification')
    .column('user_id')
    .execute()
  await db.schema
    .createIndex('service_user_email_verification_expires')
    .on('service_user_email_verification')
    .column('expires_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_user_email_verification').ifExists().execute()
  await db.schema.alterTable('service_user_master').dropColumn('email_verified_at').execute()
}
