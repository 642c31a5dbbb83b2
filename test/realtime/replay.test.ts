import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { baseUrl, connect, metric, type TestClient } from './client.js'
import { holdOpening } from './hold.js'

for (const dialect of DIALECTS) {
  describe(`realtime ?since= replay and the send queue (${dialect})`, () => {
    let ctx: TestContext
    let url: string
    const clients: TestClient[] = []
    const open = async (path: string) => {
      const c = await connect(`${url}${path}`)
      clients.push(c)
      return c
    }
    const token = async () => (await ctx.app.platform.tokens.issueGuest()).token
    const pub = (slug: string, n: number, extra: Record<string, unknown> = {}) =>
      ctx.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x.y', n, ...extra },
      )
    const events = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { WS_EVENT_HISTORY_SIZE: '100' } })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      url = baseUrl(ctx.app)
    })
    after(async () => {
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('answers a replay larger than the socket queue with resync_required, then live events', async () => {
      const slug = await createCampaign(ctx.app)
      const first = await open(`/ws/${slug}/guest?token=${await token()}`)
      await pub(slug, 0)
      const e0 = await first.next((f) => f.type === 'campaign_event' && f.n === 0)
      first.close()
      // 24 × 64 KB missed: all still in the history, but more than the 1 MB a socket may queue.
      const big = 'x'.repeat(64 * 1024)
      for (let n = 1; n <= 24; n++) await pub(slug, n, { big })
      const tooLarge = await metric(ctx.app, 'ovasabi_ws_frames_dropped_total', 'reason="replay_too_large"')
      const back = await open(`/ws/${slug}/guest?token=${await token()}&since=${e0.id}`)
      const resync = await back.next((f) => f.type === 'resync_required')
      assert.equal(resync.since, e0.id)
      assert.equal(resync.latest_id, e0.id + 24)
      await pub(slug, 25)
      await back.next((f) => f.type === 'campaign_event' && f.n === 25)
      assert.deepEqual(events(back), [25], 'nothing of the replay, then the live event')
      assert.deepEqual(
        back.frames.slice(0, 2).map((f) => f.type),
        ['connected', 'resync_required'],
      )
      assert.equal(
        (await metric(ctx.app, 'ovasabi_ws_frames_dropped_total', 'reason="replay_too_large"')) - tooLarge,
        24,
      )
    })

    it('replays what fits, then the events published while the socket opened, each once and in order', async () => {
      const slug = await createCampaign(ctx.app)
      const first = await open(`/ws/${slug}/guest?token=${await token()}`)
      await pub(slug, 0)
      const e0 = await first.next((f) => f.type === 'campaign_event' && f.n === 0)
      first.close()
      for (let n = 1; n <= 3; n++) await pub(slug, n)
      const hold = holdOpening(ctx.app, slug)
      const pending = connect(`${url}/ws/${slug}/guest?token=${await token()}&since=${e0.id}`)
      try {
        await hold.entered
        // Published while it opens (before its room listens): the replay carries them.
        for (let n = 4; n <= 5; n++) await pub(slug, n)
      } finally {
        hold.release()
      }
      const back = await pending
      clients.push(back)
      await pub(slug, 6)
      await back.next((f) => f.type === 'campaign_event' && f.n === 6)
      assert.deepEqual(events(back), [1, 2, 3, 4, 5, 6])
      assert.equal(back.frames[0].type, 'connected')
      assert.equal(back.frames.filter((f) => f.type === 'resync_required').length, 0)
    })
  })
}
