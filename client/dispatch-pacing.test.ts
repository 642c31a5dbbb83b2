// Dispatches queued while the socket is down, flushed against a real server whose inbound limit is
// low (5 frames a second, a bucket of 10): the SDK paces them to `connected.limits`, and re-sends
// what the server reports dropped; every action runs once and the socket stays open.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import { metric, waitUntil } from '../test/realtime/client.js'
import { createClient, type RealtimeConnection, type WebSocketCtor, type WebSocketLike } from './index.js'

const RATE = 5
const QUEUED = 30

/**
 * A `ws` socket whose `connected` frame states `burst` in place of the server's own bucket;
 * `opened` gets each socket, `seen` every frame as the server sent it.
 */
function claimingBurst(burst: number, opened: WebSocket[], seen: unknown[] = []): WebSocketCtor {
  return class implements WebSocketLike {
    onopen: ((ev: unknown) => void) | null = null
    onmessage: ((ev: { data: unknown }) => void) | null = null
    onclose: ((ev: { code: number; reason: string }) => void) | null = null
    onerror: ((ev: unknown) => void) | null = null
    private readonly ws: WebSocket
    constructor(address: string, protocols?: string | string[]) {
      this.ws = new WebSocket(address, protocols)
      opened.push(this.ws)
      this.ws.on('open', () => this.onopen?.({}))
      this.ws.on('message', (data) => {
        const frame = JSON.parse(String(data))
        seen.push(structuredClone(frame))
        if (frame.type === 'connected') frame.limits.burst = burst
        this.onmessage?.({ data: JSON.stringify(frame) })
      })
      this.ws.on('close', (code, reason) => this.onclose?.({ code, reason: String(reason) }))
      this.ws.on('error', (err) => this.onerror?.(err))
    }
    get readyState() {
      return this.ws.readyState
    }
    send(data: string) {
      this.ws.send(data)
    }
    close(code?: number, reason?: string) {
      this.ws.close(code, reason)
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`dispatch pacing against a low inbound limit, real server (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    const open: RealtimeConnection[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { WS_MESSAGES_PER_SECOND: String(RATE) } })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      for (const c of open) c.close()
      await ctx.close()
    })

    /** Queues QUEUED dispatches before the socket is admitted; resolves with their request ids. */
    async function flush(WebSocketImpl: WebSocketCtor) {
      const slug = await createCampaign(ctx.app)
      const client = createClient({ baseUrl, WebSocket: WebSocketImpl })
      await client.createSession()
      const conn = client.connect(slug, { frequency: 1 })
      open.push(conn)
      const states: string[] = []
      conn.onState((s) => states.push(s))
      assert.notEqual(conn.state, 'open')
      const acks = await Promise.all(
        Array.from({ length: QUEUED }, (_, n) => conn.dispatch('pacing.tap', { n }, { timeoutMs: 60_000 })),
      )
      assert.ok(
        acks.every((a) => a.status === 'success'),
        JSON.stringify(acks.find((a) => a.status !== 'success')),
      )
      const ids = acks.map((a) => a.request_id)
      assert.equal(new Set(ids).size, QUEUED)
      // The server's side: each action recorded exactly once.
      const recorded = () =>
        ctx.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('event_id')
          .where('campaign_slug', '=', slug)
          .execute()
      await waitUntil(async () => (await recorded()).length >= QUEUED, 10_000, 'the actions recorded')
      const rows = await recorded()
      assert.deepEqual(rows.map((r) => r.event_id).sort(), [...ids].sort())
      assert.equal(conn.state, 'open')
      assert.deepEqual(states, ['open'], 'never dropped, never closed')
      return conn
    }

    test('a flush of 30 queued dispatches is paced to connected.limits: all run once, none is dropped', async () => {
      const sockets: WebSocket[] = []
      const dropped = () =>
        metric(ctx.app, 'ovasabi_ws_frames_dropped_total', 'reason="inbound_rate_limited"')
      const before = await dropped()
      const conn = await flush(claimingBurst(RATE * 2, sockets))
      assert.equal(sockets.length, 1)
      assert.equal(conn.session?.limits?.messages_per_second, RATE)
      assert.equal(await dropped(), before, 'the server dropped none of the frames')
    })

    test('frames the server dropped anyway are re-sent after its RATE_LIMITED notice, and run once', async () => {
      // The SDK believes in a bucket twice the server's: the first 19 go out at once, the server
      // takes 10 and drops the rest (fewer than would close the socket), and says so once.
      const sockets: WebSocket[] = []
      const seen: Array<{ type: string; code?: string }> = []
      const dropped = () =>
        metric(ctx.app, 'ovasabi_ws_frames_dropped_total', 'reason="inbound_rate_limited"')
      const before = await dropped()
      await flush(claimingBurst(RATE * 4, sockets, seen))
      assert.equal(sockets.length, 1)
      assert.ok((await dropped()) - before > 0, 'the server did drop frames')
      const errors = seen.filter((f) => f.type === 'error')
      assert.equal(errors.length, 1, JSON.stringify(errors))
      assert.equal(errors[0]!.code, 'RATE_LIMITED')
    })
  })
}
