import { type Kysely, sql } from 'kysely'

/**
 * A person's change of address: one row per confirmation link mailed to the new address, keyed by
 * the SHA-256 of its token (the token is only in the mail), with that address, until the link is
 * used, superseded by a newer one, or expires (swept by expiry); and the addresses a person had
 * before, kept so an erasure finds what was stored under them (their leads), and cleared by it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_user_email_change')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('service_user_email_change_user')
    .on('service_user_email_change')
    .column('user_id')
    .execute()
  await db.schema
    .createIndex('service_user_email_change_expires')
    .on('service_user_email_change')
    .column('expires_at')
    .execute()
  await db.schema
    .createTable('service_user_former_email')
    .addColumn('user_id', 'text', (c) => c.notNull().references('service_user_master.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('until', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('service_user_former_email_pk', ['user_id', 'email'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_user_former_email').ifExists().execute()
  await db.schema.dropTable('service_user_email_change').ifExists().execute()
}
