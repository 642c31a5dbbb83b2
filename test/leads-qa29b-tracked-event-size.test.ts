// QA pass 29b: a tracked event (any dotted event, the analytics feature) was logged whole up to the
// request body limit (1 MiB by default), for any guest, at the global rate limit: one visitor
// could grow the analytics log by gigabytes a minute, though the same event over the WebSocket
// can carry at most 16 KiB (WS_MAX_PAYLOAD). Its payload and metadata are now bounded as JSON,
// the same on both routes: a larger one is 413 PAYLOAD_TOO_LARGE and nothing is logged or counted.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`tracked events are bounded, pass 29b (${dialect})`, () => {
    const s = suiteApp({ dialect })

    const track = (slug: string, token: string, body: Record<string, unknown>) =>
      s.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: body,
      })
    const logged = async (slug: string) =>
      (
        await s.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('event')
          .where('campaign_slug', '=', slug)
          .execute()
      ).map((r) => r.event)

    it('refuses a payload or metadata over 16 KiB with 413, logging nothing, and takes one under it', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const big = { blob: 'x'.repeat(17 * 1024) }
      for (const body of [
        { action: 'content.create', data: big },
        { action: 'content.create', data: { a: 1 }, metadata: big },
        {
          type: 'campaign_event',
          event: 'media.play',
          payload: { half: 'y'.repeat(9 * 1024) },
          metadata: { other: 'z'.repeat(9 * 1024) },
        },
      ]) {
        const res = await track(slug, token, body)
        assert.equal(res.statusCode, 413, res.body)
        assert.equal(json(res).error.code, 'PAYLOAD_TOO_LARGE')
        assert.match(json(res).error.message, /16 KiB/)
      }
      assert.deepEqual(await logged(slug), [], 'nothing logged')

      const fits = await track(slug, token, {
        action: 'content.create',
        data: { blob: 'x'.repeat(15 * 1024) },
      })
      assert.equal(fits.statusCode, 200, fits.body)
      assert.equal(json(fits).result.recorded, true)
      assert.deepEqual(await logged(slug), ['content.create'])
    })
  })
}
