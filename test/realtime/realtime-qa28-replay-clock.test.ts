import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, REDIS_URL } from '../helper.js'
import type { TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

// Kept events carry the publishing node's clock. The replay dropped every kept event older than
// the history's age wherever it stood in the list, so one stamped by a node whose clock lagged
// (or before a clock stepped back) left a hole in the middle of a `?since=` replay: the events
// either side of it were replayed and the client was never told it missed one.
for (const redis of [false, true]) {
  describe(`realtime qa28: a replay skips no kept event for its clock (${redis ? 'Redis' : 'memory'})`, {
    skip: redis && !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    const live = realtimeSuite({ redis, env: { WS_EVENT_HISTORY_SECONDS: '60' } })
    const events = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)
    const publish = (slug: string, n: number) =>
      live.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x.y', n },
      )

    it('replays an event stamped earlier than its neighbours, or tells the client to resync', async () => {
      const slug = await createCampaign(live.app)
      const first = await live.openGuest(slug)
      await publish(slug, 0)
      const e0 = await first.next((f) => f.type === 'campaign_event' && f.n === 0)
      first.close()
      await publish(slug, 1)
      // Published by a node whose clock is an hour behind (the stores read the clock at once).
      const now = Date.now
      Date.now = () => now() - 3_600_000
      let lagging: Promise<void>
      try {
        lagging = publish(slug, 2)
      } finally {
        Date.now = now
      }
      await lagging
      await publish(slug, 3)
      const back = await live.openGuest(slug, `&since=${e0.id}`)
      await publish(slug, 4)
      await back.next((f) => f.type === 'campaign_event' && f.n === 4)
      const resynced = back.frames.some((f) => f.type === 'resync_required')
      if (!resynced) assert.deepEqual(events(back), [1, 2, 3, 4], 'no event missing from the replay')
      else assert.deepEqual(events(back), [4])
    })
  })
}
