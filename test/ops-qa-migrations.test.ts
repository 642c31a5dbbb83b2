import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import type { DatabaseHandle } from '../src/platform/db/database.js'
import { MigrationError, migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'

const exists = async (database: DatabaseHandle, table: string) =>
  (await sql<{ present: boolean }>`select to_regclass(${table}) is not null as present`.execute(database.db))
    .rows[0]!.present

for (const dialect of DIALECTS) {
  describe(`migrations (${dialect})`, () => {
    it('let an older version start on a database a newer version migrated (rollback, rolling deploy)', async () => {
      await withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        // What the next version's migration leaves behind.
        await sql`insert into service_schema_migration (name, timestamp) values ('999_next_version', ${new Date().toISOString()})`.execute(
          database.db,
        )
        const told: string[][] = []
        const applied = await migrateToLatest(database.db, { onNewer: (names) => told.push(names) })
        assert.deepEqual(applied, [])
        assert.deepEqual(told, [['999_next_version']])
        // The newer version's record is kept for it.
        const names = await sql<{ name: string }>`select name from service_schema_migration`.execute(
          database.db,
        )
        assert.ok(names.rows.some((r) => r.name === '999_next_version'))
      })
    })

    it('a failed migration is named, and nothing of the run is applied', async () => {
      await withDatabase(dialect, async (database) => {
        await sql`create table service_campaign_counter (id int)`.execute(database.db)
        await assert.rejects(migrateToLatest(database.db), (err: unknown) => {
          assert.ok(err instanceof MigrationError, String(err))
          assert.match(
            err.message,
            /^Migration 001_foundation failed: .*already exists\. Nothing of this run was applied/,
          )
          return true
        })
        assert.equal(await exists(database, 'service_campaign_main'), false)
      })
    })
  })
}
