import { type Kysely, sql } from 'kysely'

/**
 * Two lookups that scanned whole tables. The media sweep finds uploads left `uploading` or
 * `processing` with no sign of life (`failInterrupted`): few rows are ever in flight, so a partial
 * index holds just those. StreamSource finds a link stored before channel names were folded by
 * `lower(normalized_link)` (see `sameLink` in stream.repo.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index service_media_main_in_flight on service_media_main (updated_at)
    where status in ('uploading', 'processing')`.execute(db)
  await sql`create index service_stream_main_link_lower on service_stream_main (lower(normalized_link))`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_stream_main_link_lower').ifExists().execute()
  await db.schema.dropIndex('service_media_main_in_flight').ifExists().execute()
}
