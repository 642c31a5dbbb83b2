import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, REDIS_URL } from '../helper.js'
import type { TestClient } from './client.js'
import { publishEvent, realtimeSuite } from './fixtures.js'

// A `?since=` resume on the Redis history read and parsed every kept entry (up to
// WS_EVENT_HISTORY_SIZE) however little the client missed. Ids in the list follow one another, so
// the entry after `since` has a known index: only the entries from there on are needed.
describe('realtime qa28b: ?since= reads only what the client missed (Redis)', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const live = realtimeSuite({ redis: true, env: { WS_EVENT_HISTORY_SIZE: '50' } })
  const events = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)

  /** Every entry LRANGE returned for the history of `slug` while `run` ran. */
  async function entriesRead(slug: string, run: () => Promise<void>): Promise<number> {
    const redis = live.app.platform.redis!
    const lrange = redis.lrange
    let read = 0
    ;(redis as unknown as { lrange: unknown }).lrange = async (...args: unknown[]) => {
      const got = await (lrange as (...a: unknown[]) => Promise<string[]>).apply(redis, args)
      if (String(args[0]).endsWith(`:h:${slug}`)) read += got.length
      return got
    }
    try {
      await run()
    } finally {
      ;(redis as unknown as { lrange: unknown }).lrange = lrange
    }
    return read
  }

  it('replays the three missed events of thirty, reading three entries', async () => {
    const slug = await createCampaign(live.app)
    const first = await live.openGuest(slug)
    for (let n = 0; n < 30; n++) await publishEvent(live.app, slug, n)
    const seen = await first.next((f) => f.type === 'campaign_event' && f.n === 26)
    first.close()
    let back: TestClient | undefined
    const read = await entriesRead(slug, async () => {
      back = await live.openGuest(slug, `&since=${seen.id}`)
      await back.next((f) => f.type === 'campaign_event' && f.n === 29)
    })
    assert.deepEqual(events(back!), [27, 28, 29])
    assert.equal(read, 3, 'only the missed entries were read')
    await publishEvent(live.app, slug, 30)
    await back!.next((f) => f.type === 'campaign_event' && f.n === 30)
    assert.deepEqual(events(back!), [27, 28, 29, 30], 'each once, then live')
  })

  it('reads no entry for a client that missed nothing, and still tells a gap', async () => {
    const slug = await createCampaign(live.app)
    const first = await live.openGuest(slug)
    for (let n = 0; n < 60; n++) await publishEvent(live.app, slug, n)
    const last = await first.next((f) => f.type === 'campaign_event' && f.n === 59)
    const early = first.frames.find((f) => f.type === 'campaign_event' && f.n === 2)
    first.close()
    const read = await entriesRead(slug, async () => {
      const current = await live.openGuest(slug, `&since=${last.id}`)
      await publishEvent(live.app, slug, 60)
      await current.next((f) => f.type === 'campaign_event' && f.n === 60)
      assert.deepEqual(events(current), [60])
    })
    assert.equal(read, 0, 'nothing to read for a client that is up to date')
    // Ten entries are gone (fifty kept): the history no longer reaches back.
    const behind = await live.openGuest(slug, `&since=${early.id}`)
    const resync = await behind.next((f) => f.type === 'resync_required')
    assert.equal(resync.since, early.id)
    assert.equal(resync.latest_id, last.id + 1)
    assert.deepEqual(events(behind), [])
  })
})
