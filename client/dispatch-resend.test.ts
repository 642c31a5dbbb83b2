// `dispatch()` across a dropped socket, against the real server on a real port: the action commits,
// its socket dies before the ack goes out, and the SDK's resend after the reconnect (same
// request_id) is answered with the stored first response, not run again.
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import { createClient, type RealtimeConnection, type UpdateAckFrame, type WebSocketCtor } from './index.js'
import { ulid } from './ulid.js'

async function settle(conn: RealtimeConnection, state: RealtimeConnection['state']) {
  for (let i = 0; i < 1000 && conn.state !== state; i++) await new Promise((r) => setTimeout(r, 5))
  assert.equal(conn.state, state)
}

for (const dialect of DIALECTS) {
  describe(`dispatch across a dropped socket, real server (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    const open: RealtimeConnection[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      for (const c of open) c.close()
      await ctx.close()
    })

    test('an action whose socket drops before its ack resolves after the reconnect and runs once', async () => {
      const slug = await createCampaign(ctx.app)
      // The server's end of each socket of this campaign, to drop it from the server's side.
      const sockets: Duplex[] = []
      const onUpgrade = (req: { url?: string }, socket: Duplex) => {
        if (req.url?.startsWith(`/ws/${slug}/`)) sockets.push(socket)
      }
      ctx.app.server.on('upgrade', onUpgrade)
      const requestId = ulid()
      const acks: unknown[] = []
      const publisher = ctx.app.publisher
      const publish = publisher.publish
      // The first update_ack of the action: it committed, and its socket dies before the ack is
      // written (the ack is lost with it). Later ones go out as usual.
      publisher.publish = async (audience, frame) => {
        if (frame.type === 'update_ack' && frame.request_id === requestId) {
          acks.push(frame)
          if (acks.length === 1) {
            sockets.at(-1)!.destroy()
            return
          }
        }
        return publish.call(publisher, audience, frame)
      }
      try {
        const client = createClient({ baseUrl, WebSocket: WebSocket as unknown as WebSocketCtor })
        await client.createSession()
        const conn = client.connect(slug, { frequency: 20, backoff: { initialMs: 50, maxMs: 200 } })
        open.push(conn)
        await settle(conn, 'open')
        const email = `resend.${requestId.toLowerCase()}@example.org`
        const ack = await conn.dispatch(
          'quote.submit',
          { name: 'Ada', email },
          { requestId, timeoutMs: 10_000 },
        )

        assert.equal(ack.status, 'success')
        assert.equal(ack.request_id, requestId)
        assert.equal(typeof (ack.result as { lead_id?: unknown }).lead_id, 'string')
        assert.equal(sockets.length, 2, 'the answer came on the reconnected socket')
        assert.equal(acks.length, 2, 'the resend was answered again, from the stored response')
        assert.deepEqual((acks[1] as { result?: unknown }).result, ack.result)

        const db = ctx.app.platform.database.db
        const events = await db
          .selectFrom('service_analytics_event')
          .select('event_id')
          .where('event_id', '=', requestId)
          .execute()
        assert.equal(events.length, 1, 'the action was recorded once')
        const leads = await db
          .selectFrom('service_quote_main')
          .select('id')
          .where('campaign_slug', '=', slug)
          .execute()
        assert.equal(leads.length, 1, 'one lead, not two')

        // Made the moment the socket is known down: queued, sent once the reconnect is admitted.
        const queued = new Promise<UpdateAckFrame>((resolve, reject) => {
          const off = conn.onState((state) => {
            if (state !== 'reconnecting') return
            off()
            conn.dispatch('quote.submit', { name: 'Grace', email: `q.${email}` }).then(resolve, reject)
          })
        })
        sockets.at(-1)!.destroy()
        assert.equal((await queued).status, 'success')
        assert.equal(sockets.length, 3)
      } finally {
        publisher.publish = publish
        ctx.app.server.off('upgrade', onUpgrade)
      }
    })
  })
}
