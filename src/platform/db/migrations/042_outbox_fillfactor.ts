import { type Kysely, sql } from 'kysely'

/**
 * Every outbox row is updated after it is written (settled: delivered, retrying or failed), and the
 * update changes `status`, which its due index holds, so it is never HOT. With full pages the new
 * row version goes to another page: PostgreSQL then logs a row lock before the update and the
 * whole new tuple (the event's body) in it. Half-full pages leave room for that one new version
 * beside the old. Measured with `npm run bench:leads-wal` (2,000 leads, one CRM endpoint): the
 * outbox's heap went from 4.1 WAL records and 1,775 bytes per lead to 3.2 and 1,004, and the lead
 * path's WAL from 4.9 kB to 4.0 kB. Applies to pages filled from now on (no rewrite).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_notification_outbox set (fillfactor = 50)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table service_notification_outbox reset (fillfactor)`.execute(db)
}
