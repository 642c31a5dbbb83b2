import { type Kysely, sql } from 'kysely'

/**
 * The webhook outbox is a queue: every row is inserted, claimed and settled, so its status index
 * fills with entries of row versions that are gone. Vacuuming it after ~1 % churn (instead of the
 * default 20 %) keeps claims from wading through them; the usual setting for a job table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table service_notification_outbox
    set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
         autovacuum_analyze_scale_factor = 0.05)
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table service_notification_outbox
    reset (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor)
  `.execute(db)
}
