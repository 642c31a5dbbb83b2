import type { Kysely } from 'kysely'

/**
 * Secret rotation with a grace period (as Svix does it): after a rotation the previous secret
 * keeps signing beside the new one until `previous_secret_expires_at`, so a CRM can switch over
 * without dropping a single message (Standard Webhooks lets one header carry several signatures).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_notification_webhook')
    .addColumn('previous_secret_sealed', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_notification_webhook')
    .dropColumn('previous_secret_sealed')
    .dropColumn('previous_secret_expires_at')
    .execute()
}
