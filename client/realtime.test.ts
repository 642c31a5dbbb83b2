// The connection logic (backoff, resume, throttling, acks) against an injected WebSocket, where
// drops and timing are under the test's control. `gateway.test.ts` runs the SDK against the real
// gateway; test/e2e drives it from the browser.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  backoffDelay,
  connectRealtime,
  type RealtimeConnection,
  type RealtimeOptions,
  type WebSocketLike,
} from './index.js'
import { SendBudget, sendBudget } from './pacing.js'
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

/** True while `p` has not settled (checked after the callbacks already due have run). */
const isPending = (p: Promise<unknown>) =>
  Promise.race([
    p.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((r) => setImmediate(() => r(true))),
  ])

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * A connection over `FakeSocket` (campaign `c`, 1 Hz cursors unless `opts` say otherwise); the
 * sockets it opens are in `FakeSocket.all`, emptied first.
 */
function fakeConnection(opts: Partial<RealtimeOptions> = {}): RealtimeConnection {
  FakeSocket.all = []
  return connectRealtime({
    baseUrl: 'http://x.test',
    campaign: 'c',
    frequency: 1,
    WebSocket: FakeSocket,
    ...opts,
  })
}

/** The `n`-th socket (0-based) the connection opened, once it did. */
async function opened(n: number): Promise<FakeSocket> {
  await until(() => FakeSocket.all.length > n)
  return FakeSocket.all[n]!
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
    const conn = fakeConnection({
      baseUrl: 'http://example.test',
      campaign: 'launch',
      token: 'tok.en.x',
      frequency: 10,
      backoff: { initialMs: 10 },
    })
    const first = await opened(0)
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
    const conn = fakeConnection({
      baseUrl: 'http://example.test',
      campaign: 'launch',
      frequency: 10,
      backoff: { initialMs: 10 },
    })
    const first = await opened(0)
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
    const conn = fakeConnection({
      frequency: 5,
    })
    const s = await opened(0)
    s.serverOpen()
    for (let i = 0; i <= 10; i++) conn.sendCursor(i / 10, 2) // y clamps to 1
    assert.deepEqual(s.sent, [{ type: 'cursor', x: 0, y: 1 }])
    await until(() => s.sent.length === 2)
    assert.deepEqual(s.sent[1], { type: 'cursor', x: 1, y: 1 })
    conn.close()
  })

  test('dispatch over the socket resolves on the matching update_ack and rejects on an error ack', async () => {
    const conn = fakeConnection()
    const s = await opened(0)
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
    let failing = true
    let calls = 0
    const states: string[] = []
    const conn = fakeConnection({
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
    let release: (token: string) => void = () => {}
    let asked = false
    const conn = fakeConnection({
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

  test('a dispatch made while connecting is queued and sent, in call order, once connected arrives', async () => {
    const conn = fakeConnection()
    const a = conn.dispatch('content.create', { n: 1 }, { requestId: 'req-a' })
    const b = conn.dispatch('content.create', { n: 2 }, { requestId: 'req-b' })
    const s = await opened(0)
    // Open at the TCP level but not yet admitted (no `connected`): nothing goes out yet.
    s.readyState = 1
    assert.equal(s.sent.length, 0)
    s.serverOpen()
    assert.deepEqual(
      s.sent.map((f) => [f.type, f.request_id, f.payload.n]),
      [
        ['campaign_event', 'req-a', 1],
        ['campaign_event', 'req-b', 2],
      ],
    )
    s.frame({ type: 'update_ack', request_id: 'req-b', status: 'success', result: 2 })
    s.frame({ type: 'update_ack', request_id: 'req-a', status: 'success', result: 1 })
    assert.deepEqual([(await a).result, (await b).result], [1, 2])
    conn.close()
  })

  test('an unacknowledged dispatch survives a drop: re-sent with its request_id after the reconnect, in order', async () => {
    const conn = fakeConnection({
      backoff: { initialMs: 10 },
    })
    const first = await opened(0)
    first.serverOpen()
    const a = conn.dispatch('content.create', { n: 1 })
    const b = conn.dispatch('content.create', { n: 2 })
    const [sentA, sentB] = first.sent
    first.frame({ type: 'update_ack', request_id: sentA.request_id, status: 'success', result: 'a' })
    assert.equal((await a).result, 'a')
    first.close(1006)
    assert.equal(conn.state, 'reconnecting')
    // Made while reconnecting: queued behind the one that waits for its ack.
    const c = conn.dispatch('content.create', { n: 3 })
    const second = await opened(1)
    second.serverOpen()
    assert.equal(second.sent.length, 2, 'the acknowledged dispatch is not sent again')
    assert.deepEqual(second.sent[0], sentB, 'byte for byte the same request, request_id included')
    assert.equal(second.sent[1].payload.n, 3)
    // The server answers the repeat with the first response.
    second.frame({ type: 'update_ack', request_id: sentB.request_id, status: 'success', result: 'b' })
    second.frame({
      type: 'update_ack',
      request_id: second.sent[1].request_id,
      status: 'success',
      result: 'c',
    })
    assert.deepEqual([(await b).result, (await c).result], ['b', 'c'])
    conn.close()
  })

  test('a dispatch times out from its call, not from its resend, and is then not sent again', async () => {
    const conn = fakeConnection({
      backoff: { initialMs: 10 },
    })
    const first = await opened(0)
    first.serverOpen()
    const started = Date.now()
    const late = conn.dispatch('content.create', {}, { requestId: 'req-late', timeoutMs: 1000 })
    await new Promise((r) => setTimeout(r, 700))
    first.close(1006)
    const second = await opened(1)
    second.serverOpen()
    const resentAt = Date.now()
    assert.equal(second.sent[0]?.request_id, 'req-late')
    await assert.rejects(late, { code: 'TIMEOUT', requestId: 'req-late' })
    const rejectedAt = Date.now()
    assert.ok(rejectedAt - started >= 990, `rejected ${rejectedAt - started} ms after the call`)
    // A timer restarted by the resend would have run 1000 ms from it.
    assert.ok(rejectedAt - resentAt < 1000, `rejected ${rejectedAt - resentAt} ms after the resend`)
    second.close(1006)
    await until(() => FakeSocket.all.length === 3)
    FakeSocket.all[2]!.serverOpen()
    assert.deepEqual(FakeSocket.all[2]!.sent, [])
    conn.close()
  })

  test('at most maxQueued (default 100) dispatches wait while down; the next is refused with QUEUE_FULL', async () => {
    const conn = fakeConnection()
    const queued = Array.from({ length: 100 }, (_, i) => conn.dispatch('content.create', { i }))
    const settled = Promise.allSettled(queued)
    await assert.rejects(conn.dispatch('content.create', { i: 100 }, { requestId: 'req-101' }), {
      code: 'QUEUE_FULL',
      requestId: 'req-101',
    })
    const s = await opened(0)
    s.serverOpen()
    assert.equal(s.sent.length, 100)
    assert.deepEqual(
      s.sent.map((f) => f.payload.i),
      Array.from({ length: 100 }, (_, i) => i),
    )
    // Connected: no bound, the socket takes it at once.
    void conn.dispatch('content.create', { i: 100 }).catch(() => {})
    assert.equal(s.sent.length, 101)
    conn.close()
    assert.ok((await settled).every((r) => r.status === 'rejected' && r.reason.code === 'NOT_CONNECTED'))

    const small = fakeConnection({ maxQueued: 1 })
    const one = small.dispatch('content.create', {}).catch((e: unknown) => e)
    await assert.rejects(small.dispatch('content.create', {}), { code: 'QUEUE_FULL' })
    small.close()
    assert.equal(((await one) as { code?: string }).code, 'NOT_CONNECTED')
  })

  test('close(), or a drop with reconnect: false, rejects what waits with NOT_CONNECTED, and later dispatches at once', async () => {
    const conn = fakeConnection({
      reconnect: false,
    })
    await until(() => FakeSocket.all.length === 1)
    FakeSocket.all[0]!.serverOpen()
    const sent = conn.dispatch('content.create', {}, { requestId: 'req-sent' })
    FakeSocket.all[0]!.close(1006)
    assert.equal(conn.state, 'closed')
    await assert.rejects(sent, { code: 'NOT_CONNECTED', requestId: 'req-sent' })
    await assert.rejects(conn.dispatch('content.create', {}), { code: 'NOT_CONNECTED' })

    const other = fakeConnection({
      // The retry comes 2 s after the drop: well after close(), even on a loaded machine.
      backoff: { initialMs: 4000 },
      random: () => 0,
    })
    await until(() => FakeSocket.all.length === 1)
    FakeSocket.all[0]!.serverOpen()
    const unacked = other.dispatch('content.create', { n: 1 })
    FakeSocket.all[0]!.close(1006)
    const queued = other.dispatch('content.create', { n: 2 })
    // A drop that will be retried rejects nothing: both wait for the reconnect, until close().
    assert.equal(await isPending(unacked), true)
    assert.equal(await isPending(queued), true)
    other.close()
    await assert.rejects(unacked, { code: 'NOT_CONNECTED' })
    await assert.rejects(queued, { code: 'NOT_CONNECTED' })
    await assert.rejects(other.dispatch('content.create', {}), { code: 'NOT_CONNECTED' })
    assert.equal(other.state, 'closed')
    assert.equal(FakeSocket.all.length, 1)
  })

  test('a campaign that ends closes the connection for good: what waits rejects with CAMPAIGN_NOT_ACTIVE', async () => {
    const conn = fakeConnection({ backoff: { initialMs: 1 } })
    const socket = await opened(0)
    socket.serverOpen()
    const sent = conn.dispatch('content.create', {}, { requestId: 'req-ended' })
    socket.close(1000, 'CAMPAIGN_NOT_ACTIVE')
    assert.equal(conn.state, 'closed')
    await assert.rejects(sent, { code: 'CAMPAIGN_NOT_ACTIVE', requestId: 'req-ended' })
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(FakeSocket.all.length, 1, 'no reconnect: it would be refused for good')
  })

  test('a token the server closed the socket for is not used again: the next socket waits for a new one', async () => {
    let token = 'tok.old'
    const conn = fakeConnection({ token: () => token, backoff: { initialMs: 1, maxMs: 5 } })
    const first = await opened(0)
    first.serverOpen()
    first.close(1008, 'TOKEN_EXPIRED')
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(FakeSocket.all.length, 1, 'no upgrade with the refused token')
    assert.equal(conn.state, 'reconnecting')
    token = 'tok.new'
    const second = await opened(1)
    assert.deepEqual(second.protocols, ['ovasabi', 'tok.new'])
    // A flood's 1008 is no verdict on the token: the same one is used again.
    second.serverOpen()
    second.close(1008, 'RATE_LIMITED')
    const third = await opened(2)
    assert.deepEqual(third.protocols, ['ovasabi', 'tok.new'])
    conn.close()
  })

  test("a dispatch over the server's largest frame is refused with PAYLOAD_TOO_LARGE, never sent", async () => {
    const conn = fakeConnection()
    const socket = await opened(0)
    // Made before connected told the limit: queued, then refused instead of sent.
    const queued = conn.dispatch('content.create', { text: 'é'.repeat(300) }, { requestId: 'req-big' })
    const small = conn.dispatch('content.create', { text: 'ok' }, { requestId: 'req-small' })
    socket.serverOpen({ limits: { messages_per_second: 60, burst: 120, max_frame_bytes: 512 } })
    await assert.rejects(queued, (err: any) => {
      assert.equal(err.code, 'PAYLOAD_TOO_LARGE')
      assert.equal(err.requestId, 'req-big')
      assert.match(err.message, /at most 512/)
      return true
    })
    await assert.rejects(conn.dispatch('content.create', { text: 'x'.repeat(600) }), {
      code: 'PAYLOAD_TOO_LARGE',
    })
    assert.deepEqual(
      socket.sent.map((f) => f.request_id),
      ['req-small'],
    )
    assert.equal(await isPending(small), true)
    conn.close()
    await assert.rejects(small, { code: 'NOT_CONNECTED' })
  })

  test('an identity switch rejects what waits with IDENTITY_CHANGED: never re-sent as the new user', async () => {
    const conn = fakeConnection({
      token: 'guest.token',
      backoff: { initialMs: 10 },
    })
    const guest = await opened(0)
    guest.serverOpen({ user_id: 'guest', session_id: 'g1' })
    const unacked = conn.dispatch('content.create', { as: 'guest' }, { requestId: 'req-guest' })
    guest.close(1006)
    const queued = conn.dispatch('content.create', { as: 'guest, queued' })
    conn.reauth('user.token', 'u_1')
    await assert.rejects(unacked, { code: 'IDENTITY_CHANGED', requestId: 'req-guest' })
    await assert.rejects(queued, { code: 'IDENTITY_CHANGED' })
    // Made after the switch: sent as the new user, alone.
    const mine = conn.dispatch('content.create', { as: 'u_1' })
    const user = await opened(1)
    assert.deepEqual(user.protocols, ['ovasabi', 'user.token'])
    user.serverOpen({ user_id: 'u_1', session_id: 'u1s' })
    assert.deepEqual(
      user.sent.map((f) => f.payload.as),
      ['u_1'],
    )
    user.frame({ type: 'update_ack', request_id: user.sent[0].request_id, status: 'success' })
    await mine

    // On an open socket too: reauth() rejects at once and sends nothing more on the old socket.
    const pending = conn.dispatch('content.create', { as: 'u_1 again' })
    conn.reauth('other.token', 'u_2')
    await assert.rejects(pending, { code: 'IDENTITY_CHANGED' })
    assert.equal(user.sent.length, 2)
    await until(() => FakeSocket.all.length === 3)
    FakeSocket.all[2]!.serverOpen({ user_id: 'u_2', session_id: 'u2s' })
    assert.deepEqual(FakeSocket.all[2]!.sent, [])
    conn.close()
  })

  test('a reconnect that comes back as another guest session rejects what waits with IDENTITY_CHANGED', async () => {
    const conn = fakeConnection({
      backoff: { initialMs: 10 },
    })
    await until(() => FakeSocket.all.length === 1)
    FakeSocket.all[0]!.serverOpen({ user_id: 'guest', session_id: 'g1' })
    const unacked = conn.dispatch('content.create', {})
    FakeSocket.all[0]!.close(1006)
    await until(() => FakeSocket.all.length === 2)
    // The token hook now hands out a new session (logged out and back in elsewhere): the server
    // would not know the request as a repeat, so re-sending it would act twice.
    FakeSocket.all[1]!.serverOpen({ user_id: 'guest', session_id: 'g2' })
    await assert.rejects(unacked, { code: 'IDENTITY_CHANGED' })
    assert.deepEqual(FakeSocket.all[1]!.sent, [])
    conn.close()
  })

  test('a dispatch with the requestId of one still waiting shares its answer; another action under it is refused', async () => {
    const conn = fakeConnection()
    const s = await opened(0)
    s.serverOpen()
    const first = conn.dispatch('content.create', { n: 1 }, { requestId: 'req-same' })
    const again = conn.dispatch('content.create', { n: 1 }, { requestId: 'req-same' })
    await assert.rejects(conn.dispatch('content.create', { n: 2 }, { requestId: 'req-same' }), {
      code: 'IDEMPOTENCY_KEY_REUSED',
    })
    assert.equal(s.sent.length, 1)
    s.frame({ type: 'update_ack', request_id: 'req-same', status: 'success', result: 1 })
    assert.deepEqual([(await first).result, (await again).result], [1, 1])
    conn.close()
  })

  test('the send budget refills at its rate up to its capacity; an emptied one waits as told', () => {
    const b = new SendBudget(10, 3, 0)
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false])
    assert.equal(b.wait(0), 100)
    assert.equal(b.take(100), true)
    assert.equal(b.take(100), false)
    // Idle for long: no more than its capacity.
    assert.deepEqual(
      [b.take(60_000), b.take(60_000), b.take(60_000), b.take(60_000)],
      [true, true, true, false],
    )
    b.empty(70_000, 500)
    assert.equal(b.wait(70_000), 500)
    assert.equal(b.take(70_499), false)
    assert.equal(b.take(70_500), true)
  })

  test("the client's budget is the server's bucket less headroom, and none without limits", () => {
    assert.equal(sendBudget(undefined, 0), undefined)
    assert.equal(sendBudget({ messages_per_second: 0, burst: 0 }, 0), undefined)
    assert.equal(sendBudget({ messages_per_second: 60, burst: 120 }, 0)?.capacity, 114)
    assert.equal(sendBudget({ messages_per_second: 5, burst: 10 }, 0)?.capacity, 9)
    assert.equal(sendBudget({ messages_per_second: 1, burst: 2 }, 0)?.capacity, 1)
    // Frames sent before `connected` were counted by the server too.
    const b = sendBudget({ messages_per_second: 5, burst: 10 }, 0, 7)!
    assert.deepEqual([b.take(0), b.take(0), b.take(0)], [true, true, false])
  })

  /** 20 frames a second, a bucket of 6: the client sends 4 at once, then one every 50 ms. */
  const LIMITS = { limits: { messages_per_second: 20, burst: 6 } }

  test('queued dispatches flush paced to connected.limits, in call order, each once', async () => {
    const conn = fakeConnection()
    const all = Array.from({ length: 10 }, (_, n) => conn.dispatch('content.create', { n }).catch(() => {}))
    const s = await opened(0)
    s.serverOpen(LIMITS)
    assert.equal(s.sent.length, 4, 'the budget at once, the rest wait')
    await until(() => s.sent.length === 10)
    assert.deepEqual(
      s.sent.map((f) => f.payload.n),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    )
    // What waits also waits behind: a frame sent now goes after the backlog.
    conn.send({ type: 'ping' })
    await until(() => s.sent.length === 11)
    assert.equal(s.sent[10].type, 'ping')
    conn.close()
    await Promise.all(all)
  })

  test('without limits in connected (an older server) nothing is paced', async () => {
    const conn = fakeConnection()
    const all = Array.from({ length: 10 }, (_, n) => conn.dispatch('content.create', { n }).catch(() => {}))
    const s = await opened(0)
    s.serverOpen()
    assert.equal(s.sent.length, 10)
    conn.close()
    await Promise.all(all)
  })

  test('a waiting cursor is replaced by a newer one and goes after the waiting dispatches', async () => {
    const conn = fakeConnection({ frequency: 60 })
    const s = await opened(0)
    s.serverOpen(LIMITS)
    const all = Array.from({ length: 6 }, (_, n) => conn.dispatch('content.create', { n }).catch(() => {}))
    assert.equal(s.sent.length, 4)
    conn.sendCursor(0.1, 0.1) // over budget: waits
    conn.sendCursor(0.2, 0.2) // the next cursor tick, before the next token: replaces it
    await until(() => s.sent.length === 7)
    assert.deepEqual(
      s.sent.map((f) => f.type),
      [...Array(6).fill('campaign_event'), 'cursor'],
    )
    assert.deepEqual(s.sent[6], { type: 'cursor', x: 0.2, y: 0.2 })
    conn.close()
    await Promise.all(all)
  })

  test('RATE_LIMITED with retry_after_ms re-sends the unacknowledged dispatches, same request_id, once', async () => {
    const conn = fakeConnection()
    const s = await opened(0)
    s.serverOpen(LIMITS)
    const errors: unknown[] = []
    conn.on('error', (f) => errors.push(f.code))
    const a = conn.dispatch('content.create', { n: 1 })
    const b = conn.dispatch('content.create', { n: 2 })
    const c = conn.dispatch('content.create', { n: 3 })
    const [sentA, sentB, sentC] = s.sent
    s.frame({ type: 'update_ack', request_id: sentA.request_id, status: 'success', result: 'a' })
    s.frame({ type: 'error', code: 'RATE_LIMITED', message: 'Over 20', retry_after_ms: 20 })
    assert.deepEqual(errors, ['RATE_LIMITED'], 'the handlers hear of it too')
    assert.equal(s.sent.length, 3, 'nothing before retry_after_ms')
    await until(() => s.sent.length === 5)
    assert.deepEqual(s.sent.slice(3), [sentB, sentC])
    s.frame({ type: 'update_ack', request_id: sentB.request_id, status: 'success', result: 'b' })
    s.frame({ type: 'update_ack', request_id: sentC.request_id, status: 'success', result: 'c' })
    assert.deepEqual([(await a).result, (await b).result, (await c).result], ['a', 'b', 'c'])
    // The flood's close notice (no retry_after_ms) re-sends nothing: the reconnect does.
    const d = conn.dispatch('content.create', { n: 4 }).catch(() => {})
    await until(() => s.sent.length === 6)
    s.frame({ type: 'error', code: 'RATE_LIMITED', message: 'Too many messages; closing' })
    await new Promise((r) => setTimeout(r, 150))
    assert.equal(s.sent.length, 6)
    conn.close()
    await d
  })

  test('a drop clears what waits for the budget: the reconnect sends each waiting dispatch once', async () => {
    const conn = fakeConnection({ backoff: { initialMs: 10 } })
    const all = Array.from({ length: 10 }, (_, n) => conn.dispatch('content.create', { n }).catch(() => {}))
    const first = await opened(0)
    first.serverOpen(LIMITS)
    assert.equal(first.sent.length, 4)
    first.close(1006)
    const second = await opened(1)
    second.serverOpen()
    assert.deepEqual(
      second.sent.map((f) => f.payload.n),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    )
    // Past the dropped socket's next tokens: its backlog went with it, to neither socket.
    await new Promise((r) => setTimeout(r, 150))
    assert.equal(second.sent.length, 10)
    assert.equal(first.sent.length, 4)
    conn.close()
    await Promise.all(all)
  })

  test('ulid is 26 Crockford characters and sorts by time', () => {
    const a = ulid(1_000_000)
    const b = ulid(2_000_000)
    assert.match(a, /^[0-9A-HJKMNP-TV-Z]{26}$/)
    assert.ok(a < b)
  })
})
