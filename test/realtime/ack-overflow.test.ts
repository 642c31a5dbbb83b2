// The answer to a client's own action (`update_ack`) is never shed with the events a slow socket's
// full send queue drops: it arrives in order, before the episode's `resync_required`, and the SDK's
// pending dispatch resolves instead of ending in TIMEOUT although the server handled it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { UpdateAckFrame } from '../../client/index.js'
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

const dropped = (app: FastifyInstance) => framesDropped(app, 'queue_full')
/** Acks written or queued, plus frames dropped: grows once the gateway has dealt with an ack either way. */
const handled = async (app: FastifyInstance) => (await framesSent(app, 'update_ack')) + (await dropped(app))

for (const dialect of DIALECTS) {
  describe(`realtime: update_ack to a socket whose send queue overflowed (${dialect})`, () => {
    // The paused socket must not be closed as a slow consumer while the test looks at it.
    const live = realtimeSuite({ dialect, env: { WS_SLOW_CLIENT_GRACE_MS: '600000' } })
    const resyncs = () => framesSent(live.app, 'resync_required')

    /**
     * With `paused`'s socket not reading, campaign events (64 KB, then smaller) until its queue has
     * not even room for a `resync_required` (96 bytes) left: the last one was dropped and the
     * overflow episode lasts until the client reads again. Each event is awaited on `reader`
     * first. Returns the numbers (`n`) of the events that were dropped, the last one included.
     */
    async function fillUp(slug: string, paused: { pause(): void }, reader: TestClient) {
      paused.pause()
      const lost: number[] = []
      let n = 0
      for (const size of [64 * 1024, 4096, 256, 0]) {
        const pad = 'x'.repeat(size)
        for (;;) {
          const before = await dropped(live.app)
          const told = await resyncs()
          n++
          await publishEvent(live.app, slug, n, { big: pad })
          await reader.next((f) => f.type === 'campaign_event' && f.n === n, 10_000)
          if ((await dropped(live.app)) === before) continue
          lost.push(n)
          // The room's next tick queues the episode's resync_required when 96 bytes are left.
          const queued = await waitUntil(async () => (await resyncs()) > told, 2000).then(
            () => true,
            () => false,
          )
          if (!queued) return lost
          break
        }
      }
      throw new Error('the queue kept room for a resync_required')
    }

    it('queues the ack of an action sent while events are being dropped, behind what came before', async () => {
      const { slug, slow, reader, socket } = await slowAndReader(live)
      const lost = await fillUp(slug, socket, reader)
      const last = lost.at(-1)!
      const acked = await handled(live.app)
      // The client still writes (only its reading stopped): the server runs the action and acks it.
      slow.send({ type: 'campaign_event', event: 'content.view', payload: {}, request_id: 'ack-in-overflow' })
      await waitUntil(async () => (await handled(live.app)) > acked, 30_000, 'the ack delivered')
      // The episode goes on: events after the ack are still dropped.
      const before = await dropped(live.app)
      await publishEvent(live.app, slug, last + 1)
      await waitUntil(async () => (await dropped(live.app)) > before, 10_000, 'the next event dropped')
      socket.resume()
      // One resync_required per episode (one per lost event here), the last one once it can read.
      await waitUntil(
        () => slow.frames.filter((f) => f.type === 'resync_required').length === lost.length,
        30_000,
        'every resync_required',
      )
      const got = slow.frames
        .filter((f) => ['campaign_event', 'update_ack', 'resync_required'].includes(f.type))
        .map((f) => (f.type === 'campaign_event' ? f.n : f.type))
      const expected: Array<number | string> = []
      for (let n = 1; n <= last; n++) expected.push(lost.includes(n) ? 'resync_required' : n)
      // Each earlier drop's resync follows it; the last episode's comes after the ack.
      expected.splice(expected.length - 1, 0, 'update_ack')
      assert.deepEqual(got, expected)
      const ack = slow.frames.find((f) => f.type === 'update_ack')
      assert.equal(ack.request_id, 'ack-in-overflow')
      assert.equal(ack.status, 'success')
      assert.equal(slow.closed, undefined)
    })

    it("the SDK's dispatch during an overflow resolves with its ack, not TIMEOUT", async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const { sdk, sockets } = recordingSdk(live.url)
      await sdk.createSession()
      const conn = sdk.connect(slug, { frequency: 20 })
      try {
        let resynced = 0
        conn.on('resync_required', () => {
          resynced++
        })
        await waitUntil(() => conn.state === 'open')
        const reader = unpadded(await live.openGuest(slug))
        const socket = tcpSocket(sockets[0]!)
        const lost = await fillUp(slug, socket, reader)
        const acked = await handled(live.app)
        let outcome: UpdateAckFrame | Error | undefined
        conn.dispatch('content.view', { page: '/' }, { timeoutMs: 120_000 }).then(
          (ack) => {
            outcome = ack
          },
          (err: Error) => {
            outcome = err
          },
        )
        await waitUntil(async () => (await handled(live.app)) > acked, 30_000, 'the ack delivered')
        socket.resume()
        await waitUntil(() => resynced === lost.length, 30_000, 'the last resync_required')
        // The ack was queued ahead of the last resync: the dispatch settled when it was read.
        assert.ok(outcome !== undefined, 'the dispatch settled before the last resync arrived')
        assert.ok(!(outcome instanceof Error), String(outcome))
        assert.equal((outcome as UpdateAckFrame).status, 'success')
      } finally {
        conn.close()
      }
    })
  })
}
