// Events lost to a slow socket's full send queue: the client is told (`resync_required`), once,
// as soon as the socket takes frames again, and the SDK goes on from there.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import {
  createClient,
  type FrameMap,
  type RealtimeConnection,
  type WebSocketCtor,
} from '../../client/index.js'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { baseUrl, connect, metric, type TestClient, waitUntil } from './client.js'

const dropped = (ctx: TestContext) =>
  metric(ctx.app, 'ovasabi_ws_frames_dropped_total', 'reason="queue_full"')

/** The 64 KB padding is not kept: a failed wait prints the last frames. */
function unpadded(c: TestClient) {
  c.ws.on('message', () => void delete c.frames.at(-1)?.big)
  return c
}

for (const dialect of DIALECTS) {
  describe(`realtime: events lost to a full send queue (${dialect})`, () => {
    let ctx: TestContext
    let url: string
    const clients: TestClient[] = []
    const open = async (path: string) => {
      const c = await connect(`${url}${path}`)
      clients.push(c)
      return c
    }
    const token = async () => (await ctx.app.platform.tokens.issueGuest()).token
    const pub = (slug: string, n: number, extra: Record<string, unknown> = {}) =>
      ctx.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x.y', n, ...extra },
      )

    /**
     * With `paused`'s socket not reading, 64 KB campaign events until one is dropped (the kernel's
     * buffers, then the socket's 1 MB queue, are full). Each is awaited on `reader` first, so only
     * the last one was dropped. Returns how many went out.
     */
    async function overflow(slug: string, paused: { pause(): void }, reader: TestClient) {
      const before = await dropped(ctx)
      paused.pause()
      const big = 'x'.repeat(64 * 1024)
      for (let n = 1; n <= 600; n++) {
        await pub(slug, n, { big })
        await reader.next((f) => f.type === 'campaign_event' && f.n === n, 10_000)
        if ((await dropped(ctx)) > before) return n
      }
      throw new Error('nothing was dropped')
    }

    before(async () => {
      // The paused socket must not be closed as a slow consumer while the test looks at it.
      ctx = await buildTestApp({
        dialect,
        env: { WS_SLOW_CLIENT_GRACE_MS: '600000', WS_EVENT_HISTORY_SIZE: '20' },
      })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      url = baseUrl(ctx.app)
    })
    after(async () => {
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('sends one resync_required with the last id it got and the one it lost, then live events', async () => {
      const slug = await createCampaign(ctx.app, { metadata: { scheduling: { frequency: 20 } } })
      const slow = unpadded(await open(`/ws/${slug}/guest?token=${await token()}`))
      const reader = unpadded(await open(`/ws/${slug}/guest?token=${await token()}`))
      const socket = (slow.ws as any)._socket
      const last = await overflow(slug, socket, reader)
      const ids = reader.frames.filter((f) => f.type === 'campaign_event').map((f) => f.id)
      const lostId = ids.at(-1)
      socket.resume()
      const resync = await slow.next((f) => f.type === 'resync_required', 30_000)
      assert.deepEqual(resync, { type: 'resync_required', since: lostId - 1, latest_id: lostId })
      // Once the client has heard of the loss, events flow again.
      await pub(slug, last + 1)
      await slow.next((f) => f.type === 'campaign_event' && f.n === last + 1, 10_000)
      const got = slow.frames
        .filter((f) => f.type === 'campaign_event' || f.type === 'resync_required')
        .map((f) => (f.type === 'resync_required' ? 'resync' : f.n))
      const before = Array.from({ length: last - 1 }, (_, i) => i + 1)
      assert.deepEqual(got, [...before, 'resync', last + 1], 'all but the lost one, in order, one resync')
      assert.equal(slow.closed, undefined)
      await waitUntil(
        async () => (await metric(ctx.app, 'ovasabi_ws_frames_sent_total', 'type="resync_required"')) >= 1,
      )
    })

    it('the SDK hands resync_required to the page and goes on from its latest_id', async () => {
      const slug = await createCampaign(ctx.app, { metadata: { scheduling: { frequency: 20 } } })
      const sockets: WebSocket[] = []
      class Recorded extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols)
          sockets.push(this)
        }
      }
      const sdk = createClient({
        baseUrl: url.replace('ws:', 'http:'),
        WebSocket: Recorded as unknown as WebSocketCtor,
      })
      await sdk.createSession()
      const conn: RealtimeConnection = sdk.connect(slug, { frequency: 20 })
      try {
        const seen: Array<FrameMap['campaign_event'] | FrameMap['resync_required']> = []
        conn.on('campaign_event', (f) => void seen.push(f))
        conn.on('resync_required', (f) => void seen.push(f))
        await waitUntil(() => conn.state === 'open')
        const reader = unpadded(await open(`/ws/${slug}/guest?token=${await token()}`))
        const socket = (sockets[0] as any)._socket
        const last = await overflow(slug, socket, reader)
        const lostId = reader.frames.filter((f) => f.type === 'campaign_event').at(-1).id
        socket.resume()
        await waitUntil(() => seen.some((f) => f.type === 'resync_required'), 30_000, 'resync_required')
        assert.equal(conn.lastEventId, lostId, 'a reconnect would resume after the lost event')
        await pub(slug, last + 1)
        await waitUntil(() => conn.lastEventId === lostId + 1, 10_000, 'the next live event')
        const tail = seen.slice(-2).map((f) => f.type)
        assert.deepEqual(tail, ['resync_required', 'campaign_event'])
        assert.equal(seen.filter((f) => f.type === 'resync_required').length, 1)
      } finally {
        conn.close()
      }
    })
  })
}
