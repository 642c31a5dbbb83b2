import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Room } from '../../src/realtime/room.js'
import { createCampaign, DIALECTS } from '../helper.js'
import { framesDropped, publishEvent, realtimeSuite, tcpSocket, unpadded } from './fixtures.js'

// A slow socket's queued events (and its overflow `resync_required`) went out only on the room's
// tick: at 0.1 Hz a client that caught up waited up to 10 s for what the server already held.
// The room's ticks are stopped here: whatever reaches the client came without one.
describe(`realtime qa28b: a caught-up socket's backlog goes out without a tick (${DIALECTS[0]})`, () => {
  const live = realtimeSuite({ dialect: DIALECTS[0] })

  it('sends the queued events, then resync_required, then live events again', async () => {
    const slug = await createCampaign(live.app, {
      metadata: { features: ['presence'], scheduling: { frequency: 0.1 } },
    })
    const slow = unpadded(await live.openGuest(slug))
    const tick = Room.prototype.tick
    Room.prototype.tick = function (this: Room, now?: number) {
      if (this.campaign !== slug) tick.call(this, now)
    }
    try {
      const socket = tcpSocket(slow.ws)
      socket.pause()
      const big = 'x'.repeat(64 * 1024)
      const before = await framesDropped(live.app, 'queue_full')
      // More than the kernel buffers and the 1 MB queue take: the socket queues, then drops.
      let n = 0
      while ((await framesDropped(live.app, 'queue_full')) === before) {
        for (let i = 0; i < 8; i++) await publishEvent(live.app, slug, n++, { big })
        assert.ok(n < 2000, 'the paused socket never overflowed')
      }
      socket.resume()
      const resync = await slow.next((f) => f.type === 'resync_required', 20_000)
      const got = slow.frames.filter((f) => f.type === 'campaign_event')
      assert.ok(got.length > 0, 'the queued events came')
      assert.deepEqual(
        got.map((f) => f.n),
        got.map((_, i) => i),
        'in order, none missing before the resync',
      )
      assert.equal(resync.since, got.at(-1).id)
      const from = slow.frames.length
      await publishEvent(live.app, slug, n)
      const next = await slow.next((f) => f.type === 'campaign_event', 20_000, from)
      assert.equal(next.n, n, 'live again right after the resync')
    } finally {
      Room.prototype.tick = tick
    }
  })
})
