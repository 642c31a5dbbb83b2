import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import WebSocket from 'ws'
import { createCampaign, DIALECTS } from '../helper.js'
import { connect, metric, TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'
import { holdOpening } from './hold.js'

for (const dialect of DIALECTS) {
  describe(`realtime sockets while they open (${dialect})`, () => {
    const live = realtimeSuite({ dialect })
    const guest = () => live.app.platform.tokens.issueGuest()

    it('sends nothing before connected: frames the client sent first are answered after it', async () => {
      const slug = await createCampaign(live.app)
      const hold = holdOpening(live.app, slug)
      const { token } = await guest()
      const c = new TestClient(new WebSocket(`${live.url}/ws/${slug}/guest?token=${token}`))
      live.keep(c)
      try {
        await once(c.ws, 'open')
        c.send({ type: 'ping', ts: 7 })
        c.send('not json')
        c.send({ type: 'auth', token })
        c.send({ type: 'campaign_event', request_id: 'early-1' })
        await hold.entered
        // Answered at once, these would arrive well within this wait (bounded, not a timing check).
        await c.next(() => true, 1000).catch(() => {})
      } finally {
        hold.release()
      }
      await c.next((f) => f.type === 'pong' && f.ts === 7)
      await c.next((f) => f.type === 'error' && f.code === 'INVALID_JSON')
      await c.next((f) => f.type === 'auth_ok')
      await c.next((f) => f.type === 'update_ack' && f.request_id === 'early-1' && f.status === 'error')
      assert.equal(c.frames[0].type, 'connected', `first frame: ${JSON.stringify(c.frames[0])}`)
      assert.equal(c.frames.filter((f) => f.type === 'connected').length, 1)
      assert.equal(c.closed, undefined)
    })

    it('holds live events while the socket opens only up to its queue; the rest are dropped as for a slow consumer', async () => {
      const slug = await createCampaign(live.app)
      const hold = holdOpening(live.app, slug)
      const { token, principal } = await guest()
      const audience = { scope: 'session' as const, session_id: principal.session_id }
      const pending = connect(`${live.url}/ws/${slug}/guest?token=${token}`)
      const big = 'x'.repeat(64 * 1024)
      // 40 × 64 KB: well over the 1 MB a socket may have queued.
      const count = 40
      const sent = () => metric(live.app, 'ovasabi_ws_frames_sent_total', 'type="notification"')
      const full = () => metric(live.app, 'ovasabi_ws_frames_dropped_total', 'reason="queue_full"')
      const [sentBefore, fullBefore] = [await sent(), await full()]
      try {
        await hold.entered
        for (let i = 0; i < count; i++)
          await live.app.publisher.publish(audience, { type: 'notification', big, i })
        // Every one reached the opening socket (held or dropped) before it may finish opening.
        await waitUntil(
          async () => (await sent()) - sentBefore + (await full()) - fullBefore >= count,
          10_000,
          'the notifications to reach the socket',
        )
      } finally {
        hold.release()
      }
      const c = await pending
      live.keep(c)
      await live.app.publisher.publish(audience, { type: 'notification', i: 'after' })
      await c.next((f) => f.type === 'notification' && f.i === 'after')
      const got = c.frames.filter((f) => f.type === 'notification' && typeof f.i === 'number').map((f) => f.i)
      assert.ok(got.length > 0 && got.length < count, `${got.length} of ${count} held`)
      assert.deepEqual(
        got,
        got.map((_, k) => k),
        'the first ones are kept, in order',
      )
      assert.equal((await full()) - fullBefore, count - got.length)
      assert.equal(c.frames[0].type, 'connected')
      assert.equal(c.closed, undefined)
    })
  })
}
