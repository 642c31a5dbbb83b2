import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS } from '../helper.js'
import { createBusPublisher } from '../../src/realtime/publish.js'
import { metric } from './client.js'
import { framesDropped, publishEvent, realtimeSuite, tcpSocket } from './fixtures.js'

for (const dialect of DIALECTS) {
  describe(`realtime slow clients, replay and live tick rate (${dialect})`, () => {
    const live = realtimeSuite({
      dialect,
      env: { WS_SLOW_CLIENT_GRACE_MS: '1500', WS_EVENT_HISTORY_SIZE: '5' },
    })

    it('a paused client does not delay others and is closed with 1013', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const paused = await live.openGuest(slug)
      const reader = await live.openGuest(slug)
      const mover = await live.openGuest(slug)
      // A tick after all three joined has sent each its first presence snapshot: a socket still
      // owed one when it backs up takes the snapshot path later, which is not counted as coalesced.
      await reader.next((f) => f.type === 'presence_update' && f.active_users >= 3, 5000)
      tcpSocket(paused.ws).pause()
      const publisher = createBusPublisher(live.app.platform.bus)
      const big = 'x'.repeat(64 * 1024)
      // ~8 MB of notifications, more than the kernel buffers take, so the paused socket backs up;
      // each one reaches the reading client while the paused one is stuck, and cursors keep moving.
      for (let i = 0; i < 128; i++) {
        mover.send({ type: 'cursor', x: 0.9, y: i / 1000 })
        await publisher.publish({ scope: 'campaign', campaign: slug }, { type: 'notification', big, i })
        await reader.next((f) => f.type === 'notification' && f.i === i, 10_000)
      }
      const moverId = mover.frames[0].cursor_id
      // Coalescing happens on a tick (every 50 ms here) that has a cursor move and finds the paused
      // socket backed up; the loop above can end within two ticks, so keep moving until one has.
      // The loop spent the mover's inbound burst: one move per tick stays within its rate.
      let coalesced = 0
      for (let i = 0; i < 60 && coalesced === 0; i++) {
        mover.send({ type: 'cursor', x: 0.8, y: i / 1000 })
        await new Promise((r) => setTimeout(r, 50))
        coalesced = await framesDropped(live.app, 'presence_coalesced')
      }
      assert.ok(coalesced > 0, 'presence frames for the paused socket coalesce')
      for (let i = 1; i <= 5; i++) {
        const seen = (f: any) =>
          f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === moverId && c[1] === i / 10)
        mover.send({ type: 'cursor', x: i / 10, y: 0.5 })
        await reader.next(seen, 5000)
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('paused client was not closed')), 15_000)
        const check = async () => {
          if ((await metric(live.app, 'ovasabi_ws_closes_total', 'code="1013"')) >= 1) {
            clearTimeout(t)
            resolve()
          } else setTimeout(check, 100)
        }
        void check()
      })
      tcpSocket(paused.ws).resume()
      await paused.untilClosed()
      assert.equal(reader.closed, undefined)
    })

    it('replays missed campaign events with ?since= and asks for a resync when too old', async () => {
      const slug = await createCampaign(live.app)
      const first = await live.openGuest(slug)
      const pub = (n: number) => publishEvent(live.app, slug, n)
      await pub(1)
      const e1 = await first.next((f) => f.type === 'campaign_event' && f.n === 1)
      assert.equal(typeof e1.id, 'number')
      first.close()
      await pub(2)
      await pub(3)
      const back = await live.openGuest(slug, `&since=${e1.id}`)
      const e3 = await back.next((f) => f.type === 'campaign_event' && f.n === 3)
      const got = back.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n)
      assert.deepEqual(got, [2, 3])
      assert.equal(e3.id, e1.id + 2)
      assert.equal(back.frames[0].type, 'connected')
      assert.equal(back.frames[0].last_event_id, e3.id)
      // History keeps 5 events: a client 7 events behind must resync.
      for (let n = 4; n <= 10; n++) await pub(n)
      const old = await live.openGuest(slug, `&since=${e1.id}`)
      const resync = await old.next((f) => f.type === 'resync_required')
      assert.equal(resync.latest_id, e1.id + 9)
      assert.equal(old.frames.filter((f) => f.type === 'campaign_event').length, 0)
    })

    it('changes the tick rate live when the campaign is patched', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 1 } } })
      const c = await live.openGuest(slug)
      assert.equal(c.frames[0].tick_rate, 1)
      const res = await live.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { metadata: { scheduling: { frequency: 50 }, features: ['presence'] } },
      })
      assert.equal(res.statusCode, 200)
      // At 1 Hz, 30 moves each answered by a tick would take 30 s; at 50 Hz they take well under the timeout.
      const id = c.frames[0].cursor_id
      const started = Date.now()
      for (let i = 1; i <= 30; i++) {
        c.send({ type: 'cursor', x: i / 100, y: 0 })
        await c.next(
          (f) => f.type === 'presence_update' && f.cursors.some((k: any) => k[0] === id && k[1] === i / 100),
          20_000,
        )
      }
      assert.ok(Date.now() - started < 20_000)
    })
  })
}
