import type { Kysely } from 'kysely'

/**
 * Finished webhook messages are deleted after `WEBHOOK_RETENTION_DAYS`, and their delivery log
 * with them (`on delete cascade`): the cascade finds a message's log lines by `outbox_id`, which
 * without this index meant a scan of the whole log for every message deleted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('service_notification_delivery_outbox')
    .on('service_notification_delivery')
    .column('outbox_id')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_notification_delivery_outbox').execute()
}
