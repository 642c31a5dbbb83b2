import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import * as repo from '../../src/amadeus/amadeus.repo.js'
import { type AmadeusDeps, createAmadeusService } from '../../src/amadeus/amadeus.service.js'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import type { Campaign } from '../../src/modules/campaign/campaign.schema.js'
import type { Db } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext, withDatabase } from '../helper.js'
import { campaignLike, quoteLike } from './fixtures.js'

/**
 * A node's service graph over a real database: fixture manifests, and the campaigns `list` returns
 * (each node reads them on its own, as nodes of one deployment do).
 */
function nodeOver(db: Db, list: () => Promise<string[]>, extra: Partial<AmadeusDeps> = {}) {
  return createAmadeusService({
    db,
    dialect: 'postgres',
    redis: false,
    modules: { list: () => [campaignLike, quoteLike] },
    actions: { list: () => [] },
    campaigns: {
      list: async () => {
        const slugs = await list()
        const rows = slugs.map((slug) => ({ slug, metadata: { features: ['quote'] } }) as unknown as Campaign)
        return { rows, total: rows.length }
      },
    },
    health: { names: () => [], run: async () => ({}) },
    metrics: { registry: new Registry() },
    eventSchemas: createEventSchemaRegistry(),
    ...extra,
  })
}

for (const dialect of DIALECTS) {
  describe(`amadeus snapshots under concurrency and over time (${dialect})`, () => {
    let t: TestContext
    let db: Db
    before(async () => {
      t = await buildTestApp({ dialect })
      db = t.app.platform.database.db
    })
    after(() => t.close())
    /**
     * A database of its own, migrated, that no app writes to: the suite's app stores its own
     * snapshots (at start and after a campaign change) when it pleases.
     */
    const onFreshDatabase = (test: (db: Db) => Promise<void>) =>
      withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        await test(database.db)
      })

    it('a node that read campaigns before another stored a newer version does not store its older graph on top', () =>
      onFreshDatabase(async (db) => {
        let campaigns: string[] = []
        const first = nodeOver(db, async () => [...campaigns])
        await first.snapshot('baseline')

        // The second node reads the campaigns, then stalls before storing (a slow graph build).
        let reached!: () => void
        let release!: () => void
        const listed = new Promise<void>((r) => {
          reached = r
        })
        const gate = new Promise<void>((r) => {
          release = r
        })
        let stalled = false
        const second = nodeOver(db, async () => {
          const seen = [...campaigns]
          if (!stalled) {
            stalled = true
            reached()
            await gate
          }
          return seen
        })
        const slow = second.snapshot('campaign_change')
        await listed

        campaigns = ['spring_launch']
        const fresh = await first.snapshot('campaign_change')
        assert.equal(fresh.created, true)
        release()
        await slow

        const latest = await repo.latest(db)
        assert.equal(latest?.version, fresh.snapshot.version, 'no version on top of the newer one')
        assert.ok(latest?.graph.nodes.some((n) => n.id === 'campaign:spring_launch'))
        const history = await repo.history(db, 10)
        assert.ok(
          history.every((v) => !v.diff.removed_nodes.includes('campaign:spring_launch')),
          'history never shows the campaign removed',
        )
      }))

    it('keeps only the newest versions', () =>
      onFreshDatabase(async (db) => {
        let n = 0
        const node = nodeOver(db, async () => [`c_${n}`], { retain: 3 })
        for (n = 0; n < 6; n++) assert.equal((await node.snapshot('campaign_change')).created, true)
        const kept = await repo.all(db)
        assert.equal(kept.length, 3)
        const latest = await repo.latest(db)
        assert.deepEqual(
          kept.map((s) => s.version),
          [latest!.version - 2, latest!.version - 1, latest!.version],
        )
        assert.ok(latest!.graph.nodes.some((x) => x.id === 'campaign:c_5'))
      }))

    it('a campaign archived while the campaigns are read leaves every other campaign in the graph', async () => {
      // 600 live campaigns, newest first, as the campaign service pages them (offsets over `id desc`).
      let live = Array.from({ length: 600 }, (_, i) => `c_${599 - i}`)
      let served = 0
      const node = nodeOver(db, async () => [], {
        campaigns: {
          list: async ({ page = 1, perPage = 50 }) => {
            const slugs = live.slice((page - 1) * perPage, page * perPage)
            // An editor archives the newest campaign just after the first page was read.
            if (++served === 1) live = live.filter((slug) => slug !== 'c_599')
            const rows = slugs.map((slug) => ({ slug, metadata: { features: [] } }) as unknown as Campaign)
            return { rows, total: live.length }
          },
        },
      })
      const { snapshot } = await node.snapshot('campaign_change')
      const ids = new Set(snapshot.graph.nodes.map((n) => n.id))
      const missing = live.filter((slug) => !ids.has(`campaign:${slug}`))
      assert.deepEqual(missing, [], 'campaigns nobody archived are all in the graph')
    })

    it('refuses an import whose version the database cannot hold with 400, not 500', async () => {
      const doc = json(await t.app.inject({ url: '/api/amadeus/export', headers: adminHeaders }))
      doc.snapshots = [{ ...doc.snapshots.at(-1), version: 3_000_000_000 }]
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/amadeus/import',
        headers: adminHeaders,
        payload: doc,
      })
      assert.equal(res.statusCode, 400, res.body)
      assert.equal(json(res).error.code, 'VALIDATION_FAILED')
    })
  })
}
