// The inbound rate limit as a client sees it, over a real port: `connected` states the limit, and a
// socket whose frames are dropped for it is told once per flood window before any close.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from '../helper.js'
import { framesDropped, framesSent, realtimeSuite } from './fixtures.js'

/** Low, so a flood is a few dozen frames: a bucket of 10, closed past 15 drops in a window. */
const RATE = 5

/** `FLOOD_WINDOW_MS` of `client-frames.ts`. */
const FLOOD_WINDOW_MS = 10_000

const isNotice = (f: any) => f.type === 'error' && f.code === 'RATE_LIMITED' && 'retry_after_ms' in f

for (const dialect of DIALECTS) {
  describe(`inbound rate feedback (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_MESSAGES_PER_SECOND: String(RATE) } })

    it('states the inbound limit in connected: messages_per_second and the bucket it refills', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      assert.deepEqual(c.frames[0].limits, {
        messages_per_second: RATE,
        burst: RATE * 2,
        max_frame_bytes: live.ctx.config.WS_MAX_PAYLOAD,
      })
    })

    it('tells the first drop of each window with one RATE_LIMITED frame, and then drops silently', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      const dropsBefore = await framesDropped(live.app, 'inbound_rate_limited')
      const errorsBefore = await framesSent(live.app, 'error')
      // The bucket's 10 and 10 more, sent at once: 10 answered, about 10 dropped (fewer than 15).
      for (let i = 0; i < RATE * 4; i++) c.send({ type: 'ping', ts: i })
      const notice = await c.next(isNotice)
      assert.equal(notice.message, `Over ${RATE} messages per second: frames are being dropped`)
      assert.ok(Number.isInteger(notice.retry_after_ms) && notice.retry_after_ms > 0, JSON.stringify(notice))
      assert.ok(notice.retry_after_ms <= 1000 / RATE, `one token comes within ${1000 / RATE} ms`)
      // Once a token came, a frame is read again: its answer comes after every frame the drops caused.
      await new Promise((r) => setTimeout(r, notice.retry_after_ms))
      c.send({ type: 'ping', ts: -1 })
      await c.next((f) => f.type === 'pong' && f.ts === -1)
      const dropped = (await framesDropped(live.app, 'inbound_rate_limited')) - dropsBefore
      assert.ok(dropped >= 2, `${dropped} frames dropped`)
      assert.equal(c.frames.filter((f) => f.type === 'error').length, 1, 'one notice for all the drops')
      assert.equal((await framesSent(live.app, 'error')) - errorsBefore, 1)
      assert.equal(c.closed, undefined)

      // The next window's first drop is told again (and its drops are counted afresh: no close).
      await new Promise((r) => setTimeout(r, FLOOD_WINDOW_MS + 100))
      const from = c.frames.length
      for (let i = 0; i < RATE * 4; i++) c.send({ type: 'ping', ts: i })
      const again = await c.next(isNotice, 10_000, from)
      await new Promise((r) => setTimeout(r, again.retry_after_ms))
      c.send({ type: 'ping', ts: -2 })
      await c.next((f) => f.type === 'pong' && f.ts === -2, 10_000, from)
      assert.equal(c.frames.filter(isNotice).length, 2, 'one notice per window')
      assert.equal(c.closed, undefined)
    })

    it('closes a flood with 1008 past 3× the rate of drops, after the one notice of its window', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      for (let i = 0; i < RATE * 10; i++) c.send({ type: 'ping', ts: i })
      const closed = await c.untilClosed()
      assert.equal(closed.code, 1008)
      assert.equal(closed.reason, 'RATE_LIMITED')
      const errors = c.frames.filter((f) => f.type === 'error')
      assert.equal(errors.filter(isNotice).length, 1, JSON.stringify(errors))
      assert.equal(errors.length, 2, 'the notice, then the close')
      assert.equal(errors.at(-1).code, 'RATE_LIMITED')
      assert.ok(c.frames.indexOf(errors[0]) < c.frames.indexOf(errors[1]))
      assert.ok(
        c.frames.some((f) => f.type === 'pong'),
        'the admitted pings were answered',
      )
    })
  })
}
