import type { Kysely } from 'kysely'

/**
 * `probe` on an outbox row: this attempt is its endpoint's half-open probe (set by the sweep that
 * claims it, `claimDue`, and false for every other claim). An endpoint's circuit reads `half-open`
 * while its probe is out; a send that was already in flight when the circuit opened is no probe,
 * so it no longer makes an open circuit read half-open. A constant default: no table rewrite.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_notification_outbox')
    .addColumn('probe', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_notification_outbox').dropColumn('probe').execute()
}
