import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext, uniqueSlug } from '../helper.js'

// A campaign row hand-edited or stored before today's checks can hold something other than a
// list of feature names in `metadata.features`. Visitors read such a row with no feature on; the
// graph must do the same instead of failing (an object is not iterable) or spelling a string out
// letter by letter as features.
for (const dialect of DIALECTS) {
  describe(`amadeus graph over legacy campaign features (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('lists only the feature names a legacy row holds', async () => {
      const rows = {
        object: { quote: true },
        string: 'quote',
        mixed: ['quote', 5, null],
      }
      const slugs: Record<string, string> = {}
      for (const [kind, features] of Object.entries(rows)) {
        slugs[kind] = uniqueSlug(`legacy-${kind}`)
        await t.app.platform.database.db
          .insertInto('service_campaign_main')
          .values({
            slug: slugs[kind]!,
            title: `Legacy ${kind}`,
            description: '',
            draft: false,
            created_by: 'legacy',
            metadata: JSON.stringify({ features }),
            updated_at: new Date(),
          })
          .execute()
      }
      const res = await t.app.inject({ method: 'GET', url: '/api/amadeus/graph', headers: adminHeaders })
      assert.equal(res.statusCode, 200, res.body)
      const g = json(res)
      const uses = (slug: string) =>
        g.edges
          .filter((e: any) => e.type === 'uses' && e.from === `campaign:${slug}`)
          .map((e: any) => e.to)
          .sort()
      assert.deepEqual(uses(slugs.object!), [])
      assert.deepEqual(uses(slugs.string!), [])
      assert.deepEqual(uses(slugs.mixed!), ['feature:quote'])
      assert.ok(!g.nodes.some((n: any) => n.id === 'feature:q'), 'a string is not spelled out as features')
    })
  })
}
