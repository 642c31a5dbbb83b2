// The connection logic (backoff, resume, throttling, acks) against an injected WebSocket, where
// drops and timing are under the test's control. `gateway.test.ts` runs the SDK against the real
// gateway; test/e2e drives it from the browser.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backoffDelay, connectRealtime, type WebSocketLike } from './index.js'
import { ulid } from './ulid.js'

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: any[] = []
  onopen: ((ev: any) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: any) => void) | null = null
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this)
  }
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  close(code = 1000, reason = '') {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  serverOpen(frame: Record<string, unknown> = {}) {
    this.readyState = 1
    this.onopen?.({})
    this.frame({
      type: 'connected',
      session_id: 's1',
      campaign: 'c',
      active_users: 1,
      server_time: '',
      ...frame,
    })
  }
  frame(f: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('realtime connection', () => {
  test('backoff grows exponentially, is capped and jittered within [ceiling/2, ceiling]', () => {
    assert.equal(
      backoffDelay(0, { initialMs: 100 }, () => 0),
      50,
    )
    assert.equal(
      backoffDelay(0, { initialMs: 100 }, () => 1),
      100,
    )
    assert.equal(
      backoffDelay(3, { initialMs: 100 }, () => 1),
      800,
    )
    assert.equal(
      backoffDelay(30, { initialMs: 100, maxMs: 5000 }, () => 1),
      5000,
    )
    const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(4, { initialMs: 100 })))
    assert.ok(spread.size > 1, 'jitter varies the delay')
  })

  test('token goes in the subprotocol, and a reconnect resumes with since=<last event id>', async () => {
    FakeSocket.all = []
    const conn = connectRealtime({
      baseUrl: 'http://example.test',
      campaign: 'launch',
      token: 'tok.en.x',
      frequency: 10,
      WebSocket: FakeSocket,
      backoff: { initialMs: 10 },
    })
    await until(() => FakeSocket.all.length === 1)
    const first = FakeSocket.all[0]!
    assert.equal(first.url, 'ws://example.test/ws/launch/guest')
    assert.deepEqual(first.protocols, ['ovasabi', 'tok.en.x'])
    first.serverOpen()
    assert.equal(conn.state, 'open')
    const events: unknown[] = []
    conn.on('campaign_event', (f) => events.push(f.id))
    first.frame({ type: 'campaign_event', id: 41, event: 'referral.milestone', payload: {} })
    first.frame({ type: 'campaign_event', id: 42, event: 'referral.milestone', payload: {} })
    first.close(1006)
    assert.equal(conn.state, 'reconnecting')
    await until(() => FakeSocket.all.length === 2)
    assert.equal(FakeSocket.all[1]!.url, 'ws://example.test/ws/launch/guest?since=42')
    assert.deepEqual(events, [41, 42])
    conn.close()
    assert.equal(conn.state, 'closed')
  })

  test('resync_required reaches the handlers, and a reconnect then resumes after its latest_id', async () => {
    FakeSocket.all = []
    const conn = connectRealtime({
      baseUrl: 'http://example.test',
      campaign: 'launch',
      frequency: 10,
      WebSocket: FakeSocket,
      backoff: { initialMs: 10 },
    })
    await until(() => FakeSocket.all.length === 1)
    const first = FakeSocket.all[0]!
    first.serverOpen({ last_event_id: 40 })
    const resyncs: unknown[] = []
    conn.on('resync_required', (f) => resyncs.push(f))
    first.frame({ type: 'campaign_event', id: 41, event: 'x.y', payload: {} })
    // The socket's send queue overflowed (a slow link): 42-45 were lost.
    first.frame({ type: 'resync_required', since: 41, latest_id: 45 })
    assert.deepEqual(resyncs, [{ type: 'resync_required', since: 41, latest_id: 45 }])
    assert.equal(conn.lastEventId, 45)
    // Dropped before any later event: the reconnect replays what came after 45, not from scratch.
    first.close(1006)
    await until(() => FakeSocket.all.length === 2)
    assert.equal(FakeSocket.all[1]!.url, 'ws://example.test/ws/launch/guest?since=45')
    conn.close()
  })

  test('cursor frames are throttled to the campaign frequency, keeping the newest position', async () => {
    FakeSocket.all = []
    const conn = connectRealtime({
      baseUrl: 'http://x.test',
      campaign: 'c',
      frequency: 5,
      WebSocket: FakeSocket,
    })
    await until(() => FakeSocket.all.length === 1)
    const s = FakeSocket.all[0]!
    s.serverOpen()
    for (let i = 0; i <= 10; i++) conn.sendCursor(i / 10, 2) // y clamps to 1
    assert.deepEqual(s.sent, [{ type: 'cursor', x: 0, y: 1 }])
    await until(() => s.sent.length === 2)
    assert.deepEqual(s.sent[1], { type: 'cursor', x: 1, y: 1 })
    conn.close()
  })

  test('dispatch over the socket resolves on the matching update_ack and rejects on an error ack', async () => {
    FakeSocket.all = []
    const conn = connectRealtime({
      baseUrl: 'http://x.test',
      campaign: 'c',
      frequency: 1,
      WebSocket: FakeSocket,
    })
    await until(() => FakeSocket.all.length === 1)
    const s = FakeSocket.all[0]!
    s.serverOpen()
    const ok = conn.dispatch('content.create', { a: 1 })
    const sent = s.sent[0]
    assert.equal(sent.type, 'campaign_event')
    assert.equal(sent.campaign_id, 'c')
    assert.match(sent.request_id, /^[0-9A-Z]{26}$/)
    s.frame({ type: 'update_ack', request_id: 'other', status: 'success' })
    s.frame({ type: 'update_ack', request_id: sent.request_id, status: 'success', result: { done: true } })
    assert.deepEqual((await ok).result, { done: true })
    const bad = conn.dispatch('quote.submit', {})
    s.frame({
      type: 'update_ack',
      request_id: s.sent[1].request_id,
      status: 'error',
      error: { code: 'VALIDATION_FAILED', message: 'no' },
    })
    await assert.rejects(bad, { code: 'VALIDATION_FAILED' })
    conn.close()
  })

  test('a token hook that fails (offline while refreshing) is retried with backoff, not fatal', async () => {
    FakeSocket.all = []
    let failing = true
    let calls = 0
    const states: string[] = []
    const conn = connectRealtime({
      baseUrl: 'http://x.test',
      campaign: 'c',
      frequency: 1,
      WebSocket: FakeSocket,
      backoff: { initialMs: 2, maxMs: 4 },
      token: async () => {
        calls++
        if (failing) throw new Error('fetch failed')
        return 'fresh.token'
      },
    })
    conn.onState((s) => states.push(s))
    // The first connect cannot get a token: the connection keeps trying, it does not give up.
    await until(() => calls >= 3)
    assert.equal(FakeSocket.all.length, 0)
    assert.equal(conn.state, 'reconnecting')
    failing = false
    await until(() => FakeSocket.all.length === 1)
    FakeSocket.all[0]!.serverOpen()
    assert.equal(conn.state, 'open')
    assert.deepEqual(FakeSocket.all[0]!.protocols, ['ovasabi', 'fresh.token'])

    // A drop, then the refresh fails again: still reconnecting, then back.
    failing = true
    const before = calls
    FakeSocket.all[0]!.close(1006)
    await until(() => calls >= before + 2)
    assert.equal(conn.state, 'reconnecting')
    failing = false
    await until(() => FakeSocket.all.length === 2)
    FakeSocket.all[1]!.serverOpen()
    assert.equal(conn.state, 'open')
    assert.ok(!states.includes('closed'), states.join(' → '))
    conn.close()
  })

  test('close() while the token hook is pending opens no socket', async () => {
    FakeSocket.all = []
    let release: (token: string) => void = () => {}
    let asked = false
    const conn = connectRealtime({
      baseUrl: 'http://x.test',
      campaign: 'c',
      frequency: 1,
      WebSocket: FakeSocket,
      token: () => {
        asked = true
        return new Promise<string>((resolve) => {
          release = resolve
        })
      },
    })
    await until(() => asked)
    conn.close()
    release('late.token')
    // The hook's answer arrives after close(): nothing may connect (a socket nobody closes would
    // count as a visitor on the campaign). Give the resolution a few turns to run.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
    assert.equal(FakeSocket.all.length, 0)
    assert.equal(conn.state, 'closed')
  })

  test('ulid is 26 Crockford characters and sorts by time', () => {
    const a = ulid(1_000_000)
    const b = ulid(2_000_000)
    assert.match(a, /^[0-9A-HJKMNP-TV-Z]{26}$/)
    assert.ok(a < b)
  })
})
