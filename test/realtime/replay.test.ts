import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from '../helper.js'
import { connect, type TestClient } from './client.js'
import { framesDropped, publishEvent, realtimeSuite } from './fixtures.js'
import { holdOpening } from './hold.js'

for (const dialect of DIALECTS) {
  describe(`realtime ?since= replay and the send queue (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_EVENT_HISTORY_SIZE: '100' } })
    const pub = (slug: string, n: number, extra?: Record<string, unknown>) =>
      publishEvent(live.app, slug, n, extra)
    const events = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)
    /** A socket on `slug` gets event 0 (returned: a replay starts after its id), then goes away. */
    const leftAfterFirstEvent = async (slug: string) => {
      const first = await live.openGuest(slug)
      await pub(slug, 0)
      const e0 = await first.next((f) => f.type === 'campaign_event' && f.n === 0)
      first.close()
      return e0
    }

    it('answers a replay larger than the socket queue with resync_required, then live events', async () => {
      const slug = await createCampaign(live.app)
      const e0 = await leftAfterFirstEvent(slug)
      // 24 × 64 KB missed: all still in the history, but more than the 1 MB a socket may queue.
      const big = 'x'.repeat(64 * 1024)
      for (let n = 1; n <= 24; n++) await pub(slug, n, { big })
      const tooLarge = await framesDropped(live.app, 'replay_too_large')
      const back = await live.openGuest(slug, `&since=${e0.id}`)
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
      assert.equal((await framesDropped(live.app, 'replay_too_large')) - tooLarge, 24)
    })

    it('replays what fits, then the events published while the socket opened, each once and in order', async () => {
      const slug = await createCampaign(live.app)
      const e0 = await leftAfterFirstEvent(slug)
      for (let n = 1; n <= 3; n++) await pub(slug, n)
      const hold = holdOpening(live.app, slug)
      const pending = connect(`${live.url}/ws/${slug}/guest?token=${await live.guestToken()}&since=${e0.id}`)
      try {
        await hold.entered
        // Published while it opens (before its room listens): the replay carries them.
        for (let n = 4; n <= 5; n++) await pub(slug, n)
      } finally {
        hold.release()
      }
      const back = live.keep(await pending)
      await pub(slug, 6)
      await back.next((f) => f.type === 'campaign_event' && f.n === 6)
      assert.deepEqual(events(back), [1, 2, 3, 4, 5, 6])
      assert.equal(back.frames[0].type, 'connected')
      assert.equal(back.frames.filter((f) => f.type === 'resync_required').length, 0)
    })
  })
}
