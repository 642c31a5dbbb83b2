import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { sql } from 'kysely'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { seedMigrated } from '../fixtures/migrated-data-dir.js'
import { BIN, runCli } from '../fixtures/run-cli.js'
import { DIALECTS, freshPostgres } from '../helper.js'

// `ovasabi kg` from an operator's checkout, newer than the deployment whose database it reads:
// it applied the checkout's migrations to that database, under servers that do not know them.
for (const dialect of DIALECTS) {
  describe(`ovasabi kg refuses a database with migrations pending (${dialect})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-mig-'))
    let drop: (() => Promise<void>) | undefined
    after(async () => {
      await drop?.()
      rmSync(dir, { recursive: true, force: true })
    })

    it('exits non-zero naming them and the commands that apply them; applies nothing', async () => {
      const env: Record<string, string> = { DATA_DIR: join(dir, 'data') }
      if (dialect === 'postgres') {
        const fresh = await freshPostgres()
        drop = fresh.drop
        env.DATABASE_URL = fresh.url
      } else await seedMigrated(env.DATA_DIR!)
      const open = () => createDatabase(loadConfig({ ...env, LOG_LEVEL: 'silent' }))
      const recorded = async () => {
        const database = await open()
        try {
          const { rows } = await sql<{
            name: string
          }>`select name from service_schema_migration order by name`.execute(database.db)
          return rows.map((r) => r.name)
        } finally {
          await database.close()
        }
      }
      // A database one migration behind this version: its record of the last one is gone.
      let database = await open()
      let pending: string
      try {
        await migrateToLatest(database.db)
        const { rows } = await sql<{
          name: string
        }>`select max(name) as name from service_schema_migration`.execute(database.db)
        pending = rows[0]!.name
        await sql`delete from service_schema_migration where name = ${pending}`.execute(database.db)
      } finally {
        await database.close()
      }
      const before = await recorded()

      for (const args of [['show', '--json'], ['validate']]) {
        const res = await runCli([BIN, 'kg', ...args], env)
        assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}${res.stderr}`)
        assert.equal(res.stdout, '', 'no graph from a database this version does not match')
        assert.ok(res.stderr.includes(pending), `names ${pending}: ${res.stderr}`)
        assert.match(res.stderr, /read-only tool does not change the schema/)
        assert.match(res.stderr, /ovasabi migrate/)
        assert.match(res.stderr, /ovasabi serve/)
        assert.doesNotMatch(res.stderr, /\n\s+at /, 'said, not a stack')
      }
      assert.deepEqual(await recorded(), before, 'no migration applied')

      // Once the database is migrated (as `ovasabi migrate` does), kg reads it.
      database = await open()
      try {
        await sql`insert into service_schema_migration (name, timestamp) values (${pending}, ${new Date().toISOString()})`.execute(
          database.db,
        )
      } finally {
        await database.close()
      }
      const shown = await runCli([BIN, 'kg', 'show', '--json'], env)
      assert.equal(shown.code, 0, shown.stderr)
      assert.ok(JSON.parse(shown.stdout).nodes.length > 0)
    })
  })
}
