import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { down } from '../src/platform/db/migrations/042_outbox_fillfactor.js'
import { DIALECTS, withDatabase } from './helper.js'

const options = async (db: Parameters<typeof down>[0]) =>
  (
    await sql<{ reloptions: string[] | null }>`
      select reloptions from pg_class where oid = 'service_notification_outbox'::regclass`.execute(db)
  ).rows[0]!.reloptions ?? []

for (const dialect of DIALECTS) {
  describe(`webhook outbox storage (${dialect})`, () => {
    // Each row is settled once after it is written: half-full pages keep that new version beside
    // the old one (no row lock logged first, no whole tuple in the WAL; see migration 042).
    it('leaves half of each outbox page for the settling update, and the migration goes back', async () => {
      await withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        assert.ok((await options(database.db)).includes('fillfactor=50'))
        await down(database.db)
        const after = await options(database.db)
        assert.ok(!after.some((o) => o.startsWith('fillfactor=')))
        // Its vacuum settings (migration 009) are left as they were.
        assert.ok(after.includes('autovacuum_vacuum_scale_factor=0.01'))
      })
    })
  })
}
