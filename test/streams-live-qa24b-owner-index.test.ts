// Campaign live streams are read by their owner: an erasure ends and strips every stream of the
// person (`eraseOwner`: two updates by `owner_id`, inside the erasure's transaction) and
// `stream.start` counts the person's open streams in the campaign (`openByOwner`). With no index
// on `owner_id`, each of those read the whole registry (the erasure twice, holding its locks).
// Migration 034 adds a partial index (`owner_id, campaign_slug` where there is an owner). Planner
// choices are asserted (EXPLAIN), not timings.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import * as repo from '../src/modules/stream/stream.repo.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { plansOf } from './plan-fixtures.js'

const INDEX = 'service_stream_main_owner'

/**
 * 20,000 registry rows: three in four wall streams with no owner, the rest campaign streams of
 * 1,000 people in five campaigns, half of them ended; then `analyze`.
 */
async function seed(db: Db): Promise<void> {
  await sql`
    insert into service_stream_main
      (link, normalized_link, status, campaign_slug, owner_id, live_status, title)
    select 'https://example.com/s/' || g, 'example.com/s/' || g,
           case when g % 8 = 0 then 'offline' else 'live' end,
           case when g % 4 = 0 then 'camp' || (g % 5) end,
           case when g % 4 = 0 then 'usr_' || (g % 1000) end,
           case when g % 4 = 0 then (case when g % 8 = 0 then 'ended' else 'live' end) end,
           'stream ' || g
    from generate_series(1, 20000) g`.execute(db)
  await sql`analyze service_stream_main`.execute(db)
}

for (const dialect of DIALECTS) {
  describe(`campaign streams read by owner (${dialect})`, () => {
    it("finds a person's streams through the owner index, for the erasure and the open count", async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        await seed(db)
        const cases: [string, (q: Db) => Promise<unknown>, number][] = [
          ['erasure (end, then strip)', (q) => repo.eraseOwner(q, 'usr_8'), 2],
          ['open streams in a campaign', (q) => repo.openByOwner(q, 'camp2', 'usr_12'), 1],
        ]
        for (const [name, run, statements] of cases) {
          const plans = await plansOf(db, run, { updates: true })
          assert.equal(plans.length, statements, `${name}: ${statements} statement(s)`)
          for (const plan of plans) {
            assert.match(plan, new RegExp(INDEX), `${name}: ${plan}`)
            assert.doesNotMatch(plan, /Seq Scan/, `${name}: ${plan}`)
          }
        }

        // And run: the person's rows, and only theirs, end and are stripped.
        // usr_12 has 20 streams, all open, in camp2; usr_8's (in camp3) have all ended.
        const rowsOf = (k: number) => Array.from({ length: 20 }, (_, i) => i * 1000 + k)
        assert.deepEqual(await repo.openByOwner(db, 'camp2', 'usr_12'), rowsOf(12))
        assert.deepEqual(await repo.openByOwner(db, 'camp3', 'usr_8'), [])
        const erased = await repo.eraseOwner(db, 'usr_12')
        assert.deepEqual(
          erased.ended.sort((a, b) => a - b),
          rowsOf(12),
        )
        assert.equal(erased.rows.length, 20)
        assert.ok(erased.rows.every((r) => r.owner_id === null && r.title === null))
        const left = await sql<{ n: number }>`
          select count(*)::int as n from service_stream_main where owner_id = 'usr_12'`.execute(db)
        assert.equal(left.rows[0]!.n, 0)
        assert.deepEqual(await repo.openByOwner(db, 'camp0', 'usr_20'), rowsOf(20))
        assert.equal((await repo.eraseOwner(db, 'usr_8')).ended.length, 0)
      })
    })
  })
}
