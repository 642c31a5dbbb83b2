// The editors' stats list the most counted tracked events, not every name a visitor ever sent:
// any dotted event is counted under its own name, as many names as a visitor cares to invent.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`campaign stats (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('lists the 100 most counted event names and says how many there are', async () => {
      const slug = await createCampaign(t.app)
      const auth = { authorization: `Bearer ${(await guestToken(t.app)).token}` }
      const track = async (action: string) => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: auth,
          payload: { action, data: {} },
        })
        assert.equal(res.statusCode, 200, res.body)
      }
      // 120 names counted once, one of them (`made.up.7`) three times and `page.view` twice.
      for (let i = 0; i < 120; i++) await track(`made.up${i}`)
      await track('made.up7')
      await track('made.up7')
      await track('page.view')
      await track('page.view')

      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      const stats = json(res)
      assert.equal(stats.event_names, 121)
      assert.equal(Object.keys(stats.events).length, 100)
      assert.equal(stats.events['made.up7'], 3)
      assert.equal(stats.events['page.view'], 2)
      assert.equal(stats.events_total, 124)
      assert.ok(
        Object.keys(stats.counters).every((name) => !name.startsWith('event:')),
        'the modules’ counters are apart from the events',
      )
    })
  })
}
