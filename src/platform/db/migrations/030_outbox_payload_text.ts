import { type Kysely, sql } from 'kysely'

/**
 * A webhook message's body is fixed when it is queued: `service_notification_outbox.payload`
 * becomes the exact text sent, byte for byte, on every attempt and every replay. As `jsonb` it was
 * re-serialised by each retry in jsonb's key order (shorter keys first), so a retry's body differed
 * from the first attempt's (the object's own order), and a receiver comparing the bodies of one
 * `webhook-id` saw two messages.
 *
 * Rows already queued get the text their retries sent so far (the driver's parse of the jsonb,
 * then `JSON.stringify`), so a message in flight across the upgrade keeps its bytes. The outbox is
 * bounded by retention; the copy goes a batch at a time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_notification_outbox add column payload_text text`.execute(db)
  let after = '0'
  for (;;) {
    const { rows } = await sql<{ id: string; payload: string }>`
      select id::text as id, payload::text as payload from service_notification_outbox
      where id > ${after}::bigint order by id limit 1000
    `.execute(db)
    if (rows.length === 0) break
    const texts = rows.map((r) => ({ id: r.id, body: JSON.stringify(JSON.parse(r.payload)) }))
    await sql`
      update service_notification_outbox o set payload_text = t.body
      from jsonb_to_recordset(${JSON.stringify(texts)}::jsonb) as t(id bigint, body text)
      where o.id = t.id
    `.execute(db)
    after = rows[rows.length - 1]!.id
  }
  await sql`alter table service_notification_outbox drop column payload`.execute(db)
  await sql`alter table service_notification_outbox rename column payload_text to payload`.execute(db)
  await sql`alter table service_notification_outbox alter column payload set not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table service_notification_outbox alter column payload type jsonb using payload::jsonb
  `.execute(db)
}
