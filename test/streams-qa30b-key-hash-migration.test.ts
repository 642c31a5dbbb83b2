// Migration 036 (qa30b): campaign live streams' publishing keys were stored as they are. A database
// migrated before it keeps its open streams' keys working, now stored as their sha256 only.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { migrateBefore } from './migrate-before.js'

const MIGRATION = '036_live_ingest_key_hash'
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

for (const dialect of DIALECTS) {
  describe(`migration 036: ingest keys hashed (${dialect})`, () => {
    it('hashes the stored keys, drops the plaintext column and keeps registry rows without a key', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateBefore(db, MIGRATION)
        await sql`
          insert into service_stream_main
            (link, normalized_link, status, campaign_slug, owner_id, live_status, title, ingest_key)
          values
            ('https://cdn.test/a/1.m3u8', 'cdn.test/a/1.m3u8', 'live', 'camp', 'usr_1', 'live', 'One', 'key-one-Abc_-123'),
            ('https://cdn.test/a/2.m3u8', 'cdn.test/a/2.m3u8', 'offline', 'camp', 'usr_1', 'ended', 'Two', 'key-two-Xyz_-456'),
            ('https://twitch.tv/wall', 'twitch.tv/wall', 'live', null, null, null, 'Wall', null)`.execute(db)

        assert.ok((await migrateToLatest(db)).includes(MIGRATION))
        const rows = await sql<{ title: string; ingest_key_hash: string | null }>`
          select title, ingest_key_hash from service_stream_main order by title`.execute(db)
        assert.deepEqual(rows.rows, [
          { title: 'One', ingest_key_hash: sha256('key-one-Abc_-123') },
          { title: 'Two', ingest_key_hash: sha256('key-two-Xyz_-456') },
          { title: 'Wall', ingest_key_hash: null },
        ])
        const columns = await sql<{ column_name: string }>`
          select column_name from information_schema.columns
          where table_name = 'service_stream_main' and column_name like 'ingest%'`.execute(db)
        assert.deepEqual(
          columns.rows.map((c) => c.column_name),
          ['ingest_key_hash'],
        )
        // Two streams can never share a key.
        await assert.rejects(
          sql`update service_stream_main set ingest_key_hash = ${sha256('key-one-Abc_-123')} where title = 'Two'`.execute(
            db,
          ),
        )
      })
    })
  })
}
