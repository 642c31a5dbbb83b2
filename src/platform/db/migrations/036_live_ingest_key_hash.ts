import { type Kysely, sql } from 'kysely'

/**
 * Campaign live streams' publishing keys were stored as they are (`ingest_key`): whoever read the
 * table (a backup, a replica, a leaked dump) could publish to every open stream. Only their
 * sha256 (hex, as API keys) is kept from now on, in `ingest_key_hash`, and a media server's key is
 * looked up by its hash (the ingest authorisation endpoints). The keys already stored are hashed
 * here, so the streams they belong to keep their ingest URL; the plaintext column goes.
 *
 * The index is partial: registry rows that are not campaign streams have no key. Unique: two
 * streams with one key could not be told apart by the media server.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_stream_main add column ingest_key_hash text`.execute(db)
  await sql`update service_stream_main
            set ingest_key_hash = encode(sha256(convert_to(ingest_key, 'UTF8')), 'hex')
            where ingest_key is not null`.execute(db)
  await sql`alter table service_stream_main drop column ingest_key`.execute(db)
  await sql`create unique index service_stream_main_ingest_key_hash
            on service_stream_main (ingest_key_hash) where ingest_key_hash is not null`.execute(db)
}

/** The keys cannot be recovered from their hashes: streams open across a rollback need a key reset. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_stream_main_ingest_key_hash`.execute(db)
  await sql`alter table service_stream_main add column ingest_key text`.execute(db)
  await sql`alter table service_stream_main drop column ingest_key_hash`.execute(db)
}
