import type { Kysely } from 'kysely'

/**
 * A CRM endpoint records when it was disabled (`disabled_at`, null while enabled), beside why
 * (`disabled_reason`): the console's "Recover messages" then starts just before that time rather
 * than a guessed day back. Endpoints already disabled are left null here: when it happened was not
 * recorded; 031 fills in the best time there is (their latest delivery attempt, else `updated_at`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_notification_webhook').addColumn('disabled_at', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_notification_webhook').dropColumn('disabled_at').execute()
}
