// The real-time connection against the real server on a real port, where a page meets it: a network
// that vanishes without closing the socket (a phone changing networks, a laptop waking up), and a
// token the server closed the socket for, replaced by a new one.
import assert from 'node:assert/strict'
import { createServer as createTcpServer, type Socket, connect as tcpConnect } from 'node:net'
import { describe, test } from 'node:test'
import WebSocket from 'ws'
import { adminHeaders, createCampaign, DIALECTS } from '../test/helper.js'
import { createClient, type OvasabiError, type WebSocketCtor } from './index.js'
import { errorsOf, recordingSockets, retryOnceThenWait, sdkServer, until } from './test-helpers.js'

/**
 * A TCP relay in front of the server. `blackhole()` stops carrying bytes on the connections open
 * now, both ways, without closing them: what a vanished network looks like to both ends until TCP
 * gives up, minutes later. Connections made afterwards are carried as usual.
 */
async function blackholingRelay(target: string) {
  const { hostname, port } = new URL(target)
  const pairs = new Set<[Socket, Socket]>()
  const all = new Set<Socket>()
  const server = createTcpServer((inbound) => {
    const outbound = tcpConnect(Number(port), hostname)
    const pair: [Socket, Socket] = [inbound, outbound]
    pairs.add(pair)
    for (const s of pair) {
      all.add(s)
      s.on('error', () => s.destroy())
      s.on('close', () => {
        all.delete(s)
        pairs.delete(pair)
        inbound.destroy()
        outbound.destroy()
      })
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    blackhole() {
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound)
        outbound.unpipe(inbound)
        // Read and discard: nothing gets through, nothing is closed, nothing backs up.
        inbound.removeAllListeners('data').on('data', () => {})
        outbound.removeAllListeners('data').on('data', () => {})
      }
      pairs.clear()
    },
    close() {
      for (const s of all) s.destroy()
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const ws = WebSocket as unknown as WebSocketCtor

for (const dialect of DIALECTS) {
  describe(`SDK QA 23: dead sockets and replaced tokens, real server (${dialect})`, () => {
    const server = sdkServer(dialect)

    test('a socket whose network vanished without a close is found dead, replaced, and the action waiting on it runs once', async () => {
      const slug = await createCampaign(server.ctx.app)
      const relay = await blackholingRelay(server.baseUrl)
      try {
        const rec = recordingSockets()
        const client = createClient({ baseUrl: relay.url, WebSocket: rec.WebSocket })
        await client.createSession()
        const conn = server.keep(
          client.connect(slug, {
            frequency: 1,
            backoff: { initialMs: 20, maxMs: 100 },
            heartbeat: { idleMs: 300, timeoutMs: 300 },
          }),
        )
        let connected = 0
        conn.on('connected', () => connected++)
        await until(() => conn.state === 'open', 'open')
        relay.blackhole()
        // Sent into the void: no ack comes on this socket, nor does its close.
        const email = `qa23.${Date.now()}@example.org`
        const ack = conn.dispatch('quote.submit', { name: 'Ada', email }, { timeoutMs: 15_000 })
        ack.catch(() => {}) // awaited below, once the new socket is there
        await until(() => connected === 2, 'a new socket, connected', 10_000)
        assert.equal((await ack).status, 'success')
        assert.equal(rec.sockets.length, 2)
        const leads = await server.ctx.app.platform.database.db
          .selectFrom('service_quote_main')
          .select('id')
          .where('campaign_slug', '=', slug)
          .execute()
        assert.equal(leads.length, 1)
      } finally {
        await relay.close()
      }
    })

    test('a quiet socket that answers its pings is kept; heartbeat: false sends none', async () => {
      const slug = await createCampaign(server.ctx.app, { features: ['analytics'] })
      const client = createClient({ baseUrl: server.baseUrl, WebSocket: ws })
      await client.createSession()
      const watched = server.keep(
        client.connect(slug, { frequency: 1, heartbeat: { idleMs: 100, timeoutMs: 300 } }),
      )
      const silent = server.keep(client.connect(slug, { frequency: 1, heartbeat: false }))
      const pongs = { watched: 0, silent: 0 }
      watched.on('pong', () => pongs.watched++)
      silent.on('pong', () => pongs.silent++)
      const connected = { watched: 0, silent: 0 }
      watched.on('connected', () => connected.watched++)
      silent.on('connected', () => connected.silent++)
      await until(() => pongs.watched >= 3, 'three pongs')
      assert.deepEqual(connected, { watched: 1, silent: 1 })
      assert.equal(watched.state, 'open')
      assert.equal(pongs.silent, 0)
    })

    test('a new token given while the connection waits for one (its token was revoked) is used at once', async () => {
      const slug = await createCampaign(server.ctx.app)
      const first = (await server.ctx.app.platform.tokens.issueGuest()).token
      const rec = recordingSockets()
      const retry = retryOnceThenWait()
      const conn = server.keep(
        createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket }).connect(slug, {
          ...retry.opts,
          token: first,
          userId: 'guest',
        }),
      )
      await until(() => conn.state === 'open', 'open')
      await createClient({ baseUrl: server.baseUrl, token: first }).users.logout()
      // Closed (1008 TOKEN_REVOKED), then one attempt that found the same token and backed off.
      await until(() => retry.draws() >= 2, 'the revoked token found again')
      assert.equal(conn.state, 'reconnecting')
      conn.reauth((await server.ctx.app.platform.tokens.issueGuest()).token)
      await until(() => conn.state === 'open', 'open with the new token')
      assert.equal(rec.sockets.length, 2)
    })

    test("the client's own socket, closed for its revoked token, reconnects at once on the client's next session", async () => {
      const slug = await createCampaign(server.ctx.app)
      const rec = recordingSockets()
      const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
      await client.createSession()
      const retry = retryOnceThenWait()
      const conn = server.keep(client.connect(slug, retry.opts))
      await until(() => conn.state === 'open', 'open')
      // Logged out elsewhere (another tab): this client still holds the revoked token.
      await createClient({ baseUrl: server.baseUrl, token: client.token }).users.logout()
      await until(() => retry.draws() >= 2, 'the revoked token found again')
      await client.createSession()
      await until(() => conn.state === 'open', "open with the client's new token")
      assert.equal(rec.sockets.length, 2)
    })

    test("reauth on the client's own socket keeps it on the client's token: after register it reconnects as the user", async () => {
      const slug = await createCampaign(server.ctx.app)
      const client = createClient({ baseUrl: server.baseUrl, WebSocket: ws })
      await client.createSession()
      const conn = server.keep(client.connect(slug, { frequency: 1, backoff: { initialMs: 20, maxMs: 200 } }))
      await until(() => conn.state === 'open', 'open as a guest')
      // The page hands the socket the client's token again (a refresh that kept it): in-band.
      conn.reauth(client.token!)
      const joined = await client.users.register({
        campaign: slug,
        email: `qa23-${Date.now()}@example.org`,
        name: 'Ada',
      })
      await until(
        () => conn.state !== 'reconnecting' && conn.session?.user_id === joined.user.id,
        'open as the user',
        10_000,
      )
      assert.equal(conn.state, 'open')
      assert.equal(conn.error, undefined)
    })

    test('a campaign archived under an open socket ends the connection with the error in `error` and onError', async () => {
      const slug = await createCampaign(server.ctx.app)
      const client = createClient({ baseUrl: server.baseUrl, WebSocket: ws })
      await client.createSession()
      const conn = server.keep(client.connect(slug, { frequency: 1 }))
      const seen = errorsOf(conn)
      await until(() => conn.state === 'open', 'open')
      const archived = await server.ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
      })
      assert.equal(archived.statusCode, 200)
      await until(() => conn.state === 'closed', 'closed')
      assert.deepEqual(
        [
          conn.error?.code,
          conn.error?.status,
          (conn.error?.details as { status?: unknown } | undefined)?.status,
        ],
        ['CAMPAIGN_NOT_ACTIVE', 409, 'archived'],
      )
      assert.deepEqual(seen, [conn.error])
      const late = await conn.dispatch('content.create', {}).catch((e: OvasabiError) => e)
      assert.equal((late as OvasabiError).code, 'NOT_CONNECTED')
    })
  })
}

describe('SDK QA 23: a connection that cannot open says why', () => {
  test('a base URL no socket URL comes from (Node has no page origin)', async () => {
    const conn = createClient({ baseUrl: '', WebSocket: ws }).connect('c', {
      token: 't',
      userId: 'guest',
      frequency: 1,
    })
    const seen = errorsOf(conn)
    await until(() => conn.state === 'closed', 'closed')
    assert.equal(conn.error?.code, 'NOT_CONNECTED')
    assert.match(conn.error?.message ?? '', /Invalid URL/)
    assert.deepEqual(seen, [conn.error])
  })

  test('no WebSocket (Node 20 without `ws` passed)', {
    skip: typeof globalThis.WebSocket === 'function',
  }, async () => {
    const conn = createClient({ baseUrl: 'http://127.0.0.1:9' }).connect('c', {
      token: 't',
      userId: 'guest',
      frequency: 1,
    })
    await until(() => conn.state === 'closed', 'closed')
    assert.match(conn.error?.message ?? '', /No WebSocket available/)
  })
})
