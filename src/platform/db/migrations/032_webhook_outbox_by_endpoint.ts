import { type Kysely, sql } from 'kysely'

/**
 * The outbox's unique key turns round: (message_id, webhook_id) becomes (webhook_id, message_id).
 * Nothing looks a message up by its id alone across endpoints; everything after the write goes by
 * endpoint: its message list (`listMessages`, newest first, which now pages in message id order, a
 * ULID: the time the event was queued), a replay, a recovery, `enable` and a 410, and deleting an
 * endpoint, whose `on delete cascade` finds its rows by `webhook_id`. With no index that leads
 * with `webhook_id`, each of those read the whole outbox (a list beside a million rows of another
 * endpoint: ~100 ms). A turned key rather than one more index: the lead path writes one outbox row
 * per subscribed endpoint in its transaction, and each index is one more entry to write for it.
 * The key still holds what it held: one row per endpoint and `webhook-id`, which a receiver
 * deduplicates on.
 *
 * A plain `create unique index`, as the earlier index migrations: migrations run in one
 * transaction, where `create index concurrently` cannot. Writes to the outbox (leads) wait while
 * it is built (reads go on); on a very large outbox, build it concurrently by hand first, with
 * this name and definition, and this migration then finds it (`if not exists`; drop one a failed
 * concurrent build left invalid first).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index if not exists service_notification_outbox_endpoint_message
            on service_notification_outbox (webhook_id, message_id)`.execute(db)
  await sql`alter table service_notification_outbox
            drop constraint if exists service_notification_outbox_message`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table service_notification_outbox
            add constraint service_notification_outbox_message unique (message_id, webhook_id)`.execute(db)
  await sql`drop index if exists service_notification_outbox_endpoint_message`.execute(db)
}
