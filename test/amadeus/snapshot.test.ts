import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  type TestContext,
  uniqueSlug,
} from '../helper.js'
import { waitFor } from '../wait-for.js'

for (const dialect of DIALECTS) {
  describe(`amadeus snapshots (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const history = async () =>
      json(await t.app.inject({ url: '/api/amadeus/history', headers: adminHeaders })).versions as any[]

    it('takes version 1 at start and does not bump without a change', async () => {
      const [first] = await history()
      assert.equal(first.version, 1)
      assert.equal(first.reason, 'start')
      assert.ok(first.diff.added_nodes.includes('module:amadeus'))
      assert.ok(first.node_count > 10)
      const again = await t.app.amadeus.snapshot('manual')
      assert.equal(again.created, false)
      assert.equal(again.snapshot.version, 1)
    })

    it('bumps when campaign features change, and only then', async () => {
      const slug = uniqueSlug('kg')
      await createCampaign(t.app, { slug, features: ['quote'] })
      const v2 = await waitFor(async () => (await history()).find((v) => v.version === 2), 'version 2')
      assert.equal(v2.reason, 'campaign_change')
      assert.deepEqual(v2.diff.added_nodes, [`campaign:${slug}`])
      assert.deepEqual(v2.diff.added_edges, [`campaign:${slug} -uses-> feature:quote`])

      const retitled = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { title: 'A new title, same structure' },
      })
      assert.equal(retitled.statusCode, 200)
      assert.equal((await t.app.amadeus.snapshot('check')).created, false)

      const refeatured = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { metadata: { features: ['referral'] } },
      })
      assert.equal(refeatured.statusCode, 200)
      const v3 = await waitFor(async () => (await history()).find((v) => v.version === 3), 'version 3')
      assert.deepEqual(v3.diff.removed_edges, [`campaign:${slug} -uses-> feature:quote`])
      assert.deepEqual(v3.diff.added_edges, [`campaign:${slug} -uses-> feature:referral`])
      assert.equal((await history()).length, 3)
    })

    it('exports, and imports into another installation without rewriting history', async () => {
      const exported = await t.app.inject({ url: '/api/amadeus/export', headers: adminHeaders })
      assert.equal(exported.statusCode, 200)
      const doc = json(exported)
      assert.equal(doc.format, 'ovasabi.amadeus/v1')
      assert.deepEqual(
        doc.snapshots.map((s: any) => s.version),
        [1, 2, 3],
      )

      const other = await buildTestApp({ dialect })
      try {
        const post = (payload: unknown) =>
          other.app.inject({
            method: 'POST',
            url: '/api/amadeus/import',
            headers: adminHeaders,
            payload: payload as any,
          })
        // The other installation's own v1 has the same structure: skipped, not duplicated.
        const res = await post(doc)
        assert.equal(res.statusCode, 200, res.body)
        assert.deepEqual(json(res), { imported: 2, skipped: 1 })
        assert.deepEqual(json(await post(doc)), { imported: 0, skipped: 3 })

        const forged = structuredClone(doc)
        forged.snapshots[2].graph.nodes.pop()
        forged.snapshots[2].version = 1000
        const corrupt = await post(forged)
        assert.equal(corrupt.statusCode, 422)
        assert.equal(json(corrupt).error.code, 'SNAPSHOT_CORRUPT')

        const clash = structuredClone(doc)
        clash.snapshots[1].hash = clash.snapshots[2].hash
        clash.snapshots[1].graph = clash.snapshots[2].graph
        const conflict = await post(clash)
        assert.equal(conflict.statusCode, 409)
        assert.equal(json(conflict).error.code, 'SNAPSHOT_CONFLICT')

        const invalid = await post({ format: 'something-else', snapshots: [] })
        assert.equal(invalid.statusCode, 400)
        // The other installation may legitimately add a version of its own after the import (its
        // running graph lacks the imported campaign); the imported ones must be intact.
        const versions = json(await other.app.inject({ url: '/api/amadeus/history', headers: adminHeaders }))
        const byVersion = new Map(versions.versions.map((v: any) => [v.version, v.hash]))
        for (const s of doc.snapshots) assert.equal(byVersion.get(s.version), s.hash, `v${s.version}`)
        assert.ok(!byVersion.has(1000), 'refused imports changed nothing')
      } finally {
        await other.close()
      }
    })

    if (dialect === 'postgres') {
      it('a second node starting on the same database with the same code adds no version', async () => {
        const second = await buildTestApp({ dialect, databaseUrl: t.databaseUrl })
        try {
          const versions = json(
            await second.app.inject({ url: '/api/amadeus/history', headers: adminHeaders }),
          )
          assert.equal(versions.versions[0].version, 3)
        } finally {
          await second.close()
        }
      })
    }
  })
}
