import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, REDIS_URL } from '../helper.js'
import type { TestClient } from './client.js'
import { publishEvent, realtimeSuite } from './fixtures.js'

// `?since=` on the Redis history reads the latest id and the kept list with two commands. Another
// node's publish landing between them put an event past `latest` into the replay, while the same
// event also reached the socket live (held while it opened, or after): the client got it twice.
describe('realtime qa28: ?since= replay racing a publish (Redis)', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const live = realtimeSuite({ redis: true })
  const events = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)

  it('delivers an event published between the reads of the id and the list once', async () => {
    const slug = await createCampaign(live.app)
    const first = await live.openGuest(slug)
    await publishEvent(live.app, slug, 0)
    const e0 = await first.next((f) => f.type === 'campaign_event' && f.n === 0)
    first.close()
    await publishEvent(live.app, slug, 1)

    const redis = live.app.platform.redis!
    const lrange = redis.lrange
    let raced = false
    // Another node's publish, executed by Redis after the GET of the id and before the LRANGE.
    ;(redis as unknown as { lrange: unknown }).lrange = async (...args: unknown[]) => {
      if (!raced && String(args[0]).endsWith(`:h:${slug}`)) {
        raced = true
        await publishEvent(live.app, slug, 2)
      }
      return (lrange as (...a: unknown[]) => Promise<string[]>).apply(redis, args)
    }
    let back: TestClient
    try {
      back = await live.openGuest(slug, `&since=${e0.id}`)
      // The replay is read after `connected` is sent: event 2 exists once it read the list.
      await back.next((f) => f.type === 'campaign_event' && f.n === 2)
    } finally {
      ;(redis as unknown as { lrange: unknown }).lrange = lrange
    }
    assert.ok(raced, 'the replay read the list')
    await publishEvent(live.app, slug, 3)
    await back.next((f) => f.type === 'campaign_event' && f.n === 3)
    assert.deepEqual(events(back), [1, 2, 3], 'each event once, in order')
  })
})
