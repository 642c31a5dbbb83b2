import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createDatabase, type DatabaseHandle } from '../src/platform/db/database.js'
import { prepared } from '../src/platform/db/prepared.js'
import { DIALECTS, freshPostgres } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`prepared statements (${dialect})`, () => {
    let handle: DatabaseHandle
    let drop = async () => {}
    before(async () => {
      const pg = dialect === 'postgres' ? await freshPostgres() : undefined
      if (pg) drop = pg.drop
      handle = await createDatabase(
        { DATABASE_URL: pg?.url, DATA_DIR: '', DATABASE_POOL_SIZE: 1 },
        { memory: true },
      )
    })
    after(async () => {
      await handle.close()
      await drop()
    })

    it('runs a marked statement with fresh parameters every time', async () => {
      for (const n of [1, 2, 3, 7, 11, 13]) {
        const { rows } = await sql<{ twice: number }>`
          ${prepared('test-twice')} select ${n}::int * 2 as twice`.execute(handle.db)
        assert.equal(rows[0]!.twice, n * 2)
      }
      if (dialect === 'postgres') {
        const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(
          handle.db,
        )
        assert.deepEqual(
          rows.map((r) => r.name),
          ['test-twice'],
        )
      }
    })

    it('leaves unmarked statements unnamed', async () => {
      await sql`select 1`.execute(handle.db)
      if (dialect === 'postgres') {
        const { rows } = await sql<{
          n: number
        }>`select count(*)::int as n from pg_prepared_statements`.execute(handle.db)
        assert.equal(rows[0]!.n, 1)
      }
    })

    it('refuses a name that could break out of the comment', () => {
      assert.throws(() => prepared('x */ drop table y; /*'), /Bad prepared statement name/)
    })
  })
}
