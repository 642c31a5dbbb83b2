import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fakeConnection } from '../../test/realtime/fake-connection.js'
import { deliveryOf, isSuperseded } from './connection.js'

const limits = { softBytes: 100, queueBytes: 1000, graceMs: 1000 }

/** An open socket over a fake `ws`: `buffered` stands for the bytes the kernel has not taken yet. */
function openSocket() {
  const socket = fakeConnection()
  socket.conn.held = null
  return socket
}

const frame = (f: object) => Buffer.from(JSON.stringify(f))
const event = (id: number, pad = 0) => frame({ type: 'campaign_event', id, pad: 'x'.repeat(pad) })
const shown = (written: any[]) => written.map((f) => (f.type === 'campaign_event' ? f.id : f.type))

describe('a socket whose send queue overflows', () => {
  it('drops what does not fit, then everything until resync_required is queued, then goes on', () => {
    const { conn, ws, written } = openSocket()
    assert.equal(conn.sendEvent(event(1), limits, 0, 1), true)
    ws.bufferedAmount = 10_000 // the client stopped reading
    assert.equal(conn.sendEvent(event(2, 400), limits, 0, 2), true)
    assert.equal(conn.sendEvent(event(3, 400), limits, 0, 3), true)
    assert.equal(conn.sendEvent(event(4, 400), limits, 0, 4), false, 'over the 1000-byte queue')
    // Small enough for the queue, but after a loss nothing may arrive before the client hears of it.
    assert.equal(conn.sendEvent(frame({ type: 'notification' }), limits, 0), false)
    assert.equal(conn.sendEvent(event(5), limits, 0, 5), false)
    assert.equal(conn.resync(limits), true, 'there is room for the resync frame behind 2 and 3')
    assert.equal(conn.resync(limits), false, 'once per episode')
    assert.equal(conn.sendEvent(event(6), limits, 0, 6), true, 'queued behind the resync')
    ws.bufferedAmount = 0
    conn.flush(limits)
    assert.deepEqual(shown(written), [1, 2, 3, 'resync_required', 6])
    assert.deepEqual(written[3], { type: 'resync_required', since: 3, latest_id: 5 })
    assert.equal(conn.queue, null)
  })

  it('tells of a lost frame without an id too: since and latest_id are then the same', () => {
    const { conn, ws, written } = openSocket()
    conn.sendEvent(event(7), limits, 0, 7)
    ws.bufferedAmount = 10_000
    assert.equal(conn.sendEvent(frame({ type: 'notification', pad: 'x'.repeat(1000) }), limits, 0), false)
    assert.equal(conn.resync(limits), true, 'the queue is empty: room at once')
    ws.bufferedAmount = 0
    conn.flush(limits)
    assert.deepEqual(written.at(-1), { type: 'resync_required', since: 7, latest_id: 7 })
  })

  it('waits for room in the queue: the resync goes out once the socket can take it', () => {
    const { conn, ws, written } = openSocket()
    ws.bufferedAmount = 10_000
    for (let id = 1; id <= 2; id++) conn.sendEvent(event(id, 450), limits, 0, id)
    assert.equal(conn.sendEvent(event(3, 450), limits, 0, 3), false)
    assert.equal(conn.resync(limits), false, 'the queue is full')
    ws.bufferedAmount = 0
    // The kernel took one frame: the tick flushes what it can, then the resync fits behind it.
    const send = ws.send
    let budget = 1
    ws.send = (data: Buffer) => {
      send(data)
      if (--budget === 0) ws.bufferedAmount = 10_000
    }
    conn.flush(limits)
    assert.equal(conn.resync(limits), true)
    ws.bufferedAmount = 0
    ws.send = send
    conn.flush(limits)
    assert.deepEqual(shown(written), [1, 2, 'resync_required'])
    assert.deepEqual(written[2], { type: 'resync_required', since: 2, latest_id: 3 })
  })

  it('drops superseded frames (presence, stats, a viewer count) silently', () => {
    const { conn, ws } = openSocket()
    ws.bufferedAmount = 10_000
    const big = frame({ type: 'stats_update', pad: 'x'.repeat(1000) })
    assert.equal(conn.sendEvent(big, limits, 0, 0, 'superseded'), false)
    assert.equal(conn.lostUpTo, -1)
    assert.equal(conn.resync(limits), false)
    assert.equal(isSuperseded({ type: 'presence_update' }), true)
    assert.equal(isSuperseded({ type: 'stats_update' }), true)
    assert.equal(isSuperseded({ type: 'stream_event', kind: 'viewers' }), true)
    for (const type of ['campaign_event', 'notification', 'update_ack', 'media_event', 'stream_event']) {
      assert.equal(isSuperseded({ type }), false, type)
    }
  })
})

describe('a reply (update_ack) to a socket whose send queue is full', () => {
  const ack = (n: number, pad = 0) => frame({ type: 'update_ack', request_id: `r${n}`, pad: 'x'.repeat(pad) })

  it('is never dropped: queued past the bound and during an episode, in order, before its resync', () => {
    const { conn, ws, written } = openSocket()
    assert.deepEqual(
      ['update_ack', 'campaign_event', 'stats_update'].map((type) => deliveryOf({ type })),
      ['reply', 'event', 'superseded'],
    )
    ws.bufferedAmount = 10_000 // the client stopped reading
    assert.equal(conn.sendEvent(event(1, 450), limits, 0, 1), true)
    assert.equal(conn.sendEvent(event(2, 450), limits, 0, 2), true)
    // Past the 1000-byte bound: an event would be dropped here; the answer is queued all the same.
    assert.equal(conn.sendEvent(ack(1, 200), limits, 7, 0, 'reply'), true)
    assert.ok(conn.queuedBytes > limits.queueBytes)
    assert.equal(conn.behindSince, 7, 'the socket counts as behind (closed with 1013 if it stays)')
    assert.equal(conn.lostUpTo, -1, 'nothing was lost')
    // An event that does not fit starts an episode; a reply during it still goes in.
    assert.equal(conn.sendEvent(event(3), limits, 0, 3), false)
    assert.equal(conn.sendEvent(ack(2), limits, 0, 0, 'reply'), true)
    assert.equal(conn.sendEvent(event(4), limits, 0, 4), false)
    ws.bufferedAmount = 0
    conn.flush(limits)
    assert.equal(conn.resync(limits), true)
    assert.deepEqual(
      written.map((f) => (f.type === 'update_ack' ? f.request_id : (f.id ?? f.type))),
      [1, 2, 'r1', 'r2', 'resync_required'],
      'each answer behind the events queued before it; the gap is reported once, after them',
    )
    assert.deepEqual(written.at(-1), { type: 'resync_required', since: 2, latest_id: 4 })
  })
})
