// Events lost to a slow socket's full send queue: the client is told (`resync_required`), once,
// as soon as the socket takes frames again, and the SDK goes on from there.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FrameMap, RealtimeConnection } from '../../client/index.js'
import { createCampaign, DIALECTS } from '../helper.js'
import { type TestClient, waitUntil } from './client.js'
import {
  framesDropped,
  framesSent,
  publishEvent,
  realtimeSuite,
  recordingSdk,
  slowAndReader,
  tcpSocket,
  unpadded,
} from './fixtures.js'

for (const dialect of DIALECTS) {
  describe(`realtime: events lost to a full send queue (${dialect})`, () => {
    // The paused socket must not be closed as a slow consumer while the test looks at it.
    const live = realtimeSuite({
      dialect,
      env: { WS_SLOW_CLIENT_GRACE_MS: '600000', WS_EVENT_HISTORY_SIZE: '20' },
    })
    const dropped = () => framesDropped(live.app, 'queue_full')

    /**
     * With `paused`'s socket not reading, 64 KB campaign events until one is dropped (the kernel's
     * buffers, then the socket's 1 MB queue, are full). Each is awaited on `reader` first, so only
     * the last one was dropped. Returns how many went out.
     */
    async function overflow(slug: string, paused: { pause(): void }, reader: TestClient) {
      const before = await dropped()
      paused.pause()
      const big = 'x'.repeat(64 * 1024)
      for (let n = 1; n <= 600; n++) {
        await publishEvent(live.app, slug, n, { big })
        await reader.next((f) => f.type === 'campaign_event' && f.n === n, 10_000)
        if ((await dropped()) > before) return n
      }
      throw new Error('nothing was dropped')
    }

    it('sends one resync_required with the last id it got and the one it lost, then live events', async () => {
      const { slug, slow, reader, socket } = await slowAndReader(live)
      const last = await overflow(slug, socket, reader)
      const ids = reader.frames.filter((f) => f.type === 'campaign_event').map((f) => f.id)
      const lostId = ids.at(-1)
      socket.resume()
      const resync = await slow.next((f) => f.type === 'resync_required', 30_000)
      assert.deepEqual(resync, { type: 'resync_required', since: lostId - 1, latest_id: lostId })
      // Once the client has heard of the loss, events flow again.
      await publishEvent(live.app, slug, last + 1)
      await slow.next((f) => f.type === 'campaign_event' && f.n === last + 1, 10_000)
      const got = slow.frames
        .filter((f) => f.type === 'campaign_event' || f.type === 'resync_required')
        .map((f) => (f.type === 'resync_required' ? 'resync' : f.n))
      const before = Array.from({ length: last - 1 }, (_, i) => i + 1)
      assert.deepEqual(got, [...before, 'resync', last + 1], 'all but the lost one, in order, one resync')
      assert.equal(slow.closed, undefined)
      await waitUntil(async () => (await framesSent(live.app, 'resync_required')) >= 1)
    })

    it('the SDK hands resync_required to the page and goes on from its latest_id', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const { sdk, sockets } = recordingSdk(live.url)
      await sdk.createSession()
      const conn: RealtimeConnection = sdk.connect(slug, { frequency: 20 })
      try {
        const seen: Array<FrameMap['campaign_event'] | FrameMap['resync_required']> = []
        conn.on('campaign_event', (f) => void seen.push(f))
        conn.on('resync_required', (f) => void seen.push(f))
        await waitUntil(() => conn.state === 'open')
        const reader = unpadded(await live.openGuest(slug))
        const socket = tcpSocket(sockets[0]!)
        const last = await overflow(slug, socket, reader)
        const lostId = reader.frames.filter((f) => f.type === 'campaign_event').at(-1).id
        socket.resume()
        await waitUntil(() => seen.some((f) => f.type === 'resync_required'), 30_000, 'resync_required')
        assert.equal(conn.lastEventId, lostId, 'a reconnect would resume after the lost event')
        await publishEvent(live.app, slug, last + 1)
        await waitUntil(() => conn.lastEventId === lostId + 1, 10_000, 'the next live event')
        const tail = seen.slice(-2).map((f) => f.type)
        assert.deepEqual(tail, ['resync_required', 'campaign_event'])
        assert.equal(seen.filter((f) => f.type === 'resync_required').length, 1)
      } finally {
        conn.close()
      }
    })
  })
}
