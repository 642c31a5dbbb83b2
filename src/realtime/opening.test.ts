import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { fakeConnection } from '../../test/realtime/fake-connection.js'
import type { Replay, StoredMessage } from './history.js'
import { createRealtimeMetrics } from './metrics.js'
import { finishOpening } from './opening.js'

const limits = { softBytes: 1 << 20, queueBytes: 1000, graceMs: 1000 }

/** A socket that is opening, over a fake `ws` that records what is written. */
const opening = fakeConnection

const event = (id: number, pad = ''): StoredMessage => ({
  audience: { scope: 'campaign', campaign: 'c' },
  frame: { type: 'campaign_event', id, pad },
  ts: 0,
})
const live = (frame: object) => Buffer.from(JSON.stringify(frame))
const deps = (replay: Replay) => ({
  history: { since: async () => replay },
  metrics: createRealtimeMetrics(new Registry()),
  limits,
})

describe("finishing a socket's opening", () => {
  it('holds live events up to the queue limit, then drops them as for a slow consumer', () => {
    const { conn, written } = opening()
    const frame = live({ type: 'notification', pad: 'x'.repeat(400) })
    assert.equal(conn.sendEvent(frame, limits, 5), true)
    assert.equal(conn.sendEvent(frame, limits, 5), true)
    assert.equal(conn.sendEvent(frame, limits, 6), false)
    assert.equal(conn.behindSince, 5 + 1)
    assert.equal(written.length, 0, 'nothing is written while it opens')
  })

  it('sends the replay, then the held events it does not already carry, each once and in order', async () => {
    const { conn, written } = opening()
    conn.sendEvent(live(event(3).frame), limits, 1, 3)
    conn.sendEvent(live({ type: 'notification' }), limits, 1)
    conn.sendEvent(live(event(4).frame), limits, 1, 4)
    await finishOpening(conn, 1, deps({ events: [event(2), event(3)], latest: 3 }))
    assert.deepEqual(
      written.map((f) => f.id ?? f.type),
      [2, 3, 'notification', 4],
    )
    assert.equal(conn.held, null)
  })

  it('answers a replay that would not fit next to the held events with resync_required', async () => {
    const { conn, written } = opening()
    conn.sendEvent(live(event(4).frame), limits, 1, 4)
    // ~980 bytes: it would fit the 1000-byte queue alone, not next to the held event.
    const pad = 'x'.repeat(450)
    await finishOpening(conn, 1, deps({ events: [event(2, pad), event(3, pad)], latest: 3 }))
    assert.deepEqual(
      written.map((f) => f.id ?? f.type),
      ['resync_required', 4],
    )
    assert.deepEqual(written[0], { type: 'resync_required', since: 1, latest_id: 3 })
  })

  it('tells a socket of live events dropped while it opened, after the held ones', async () => {
    const { conn, written } = opening()
    conn.lastId = 3 // `connected` said last_event_id 3
    const pad = 'x'.repeat(450)
    assert.equal(conn.sendEvent(live(event(4, pad).frame), limits, 1, 4), true)
    assert.equal(conn.sendEvent(live(event(5, pad).frame), limits, 1, 5), true)
    assert.equal(conn.sendEvent(live(event(6, pad).frame), limits, 1, 6), false)
    // Would fit, but comes after a lost one.
    assert.equal(conn.sendEvent(live({ type: 'notification' }), limits, 1), false)
    await finishOpening(conn, undefined, deps({ events: [], latest: 3 }))
    assert.deepEqual(
      written.map((f) => f.id ?? f.type),
      [4, 5, 'resync_required'],
    )
    assert.deepEqual(written[2], { type: 'resync_required', since: 5, latest_id: 6 })
    assert.equal(conn.lostUpTo, -1)
  })

  it('holds an update_ack past the bound and after a loss, and sends it once open, before the resync', async () => {
    const { conn, ws, written } = opening()
    conn.lastId = 3
    const pad = 'x'.repeat(450)
    const ack = live({ type: 'update_ack', request_id: 'r1', status: 'success', pad: 'x'.repeat(200) })
    assert.equal(conn.sendEvent(live(event(4, pad).frame), limits, 1, 4), true)
    assert.equal(conn.sendEvent(live(event(5, pad).frame), limits, 1, 5), true)
    assert.equal(conn.sendEvent(live(event(6, pad).frame), limits, 1, 6), false)
    // The answer to an action made over REST meanwhile: the client waits for it, it is not lost.
    assert.equal(conn.sendEvent(ack, limits, 1, 0, 'reply'), true)
    // The client reads nothing yet: what was held goes to the queue, the ack past its bound too.
    ws.bufferedAmount = 1 << 21
    await finishOpening(conn, undefined, deps({ events: [], latest: 3 }))
    assert.equal(written.length, 0)
    ws.bufferedAmount = 0
    // The room's next tick: the queue drains, then the resync goes out.
    conn.flush(limits)
    assert.equal(conn.resync(limits), true)
    assert.deepEqual(
      written.map((f) => f.id ?? f.request_id ?? f.type),
      [4, 5, 'r1', 'resync_required'],
    )
    assert.deepEqual(written[3], { type: 'resync_required', since: 5, latest_id: 6 })
  })
})
