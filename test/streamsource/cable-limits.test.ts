import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { WebSocket } from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { connect as connectWs, metric, type TestClient, waitUntil } from '../realtime/client.js'
import { account } from './helpers.js'

/** Sockets one login, and one address, may hold open (small, so the limits are reached cheaply). */
const PER_SESSION = 2
const PER_IP = 3

/** The upgrade's answer: an open socket and its first frame, or the refusal's status and REST error. */
type Answer = { ws: WebSocket; status: 101; first: any; error?: undefined } | { status: number; error?: any }

/** A `/cable` upgrade from `ip` (TRUST_PROXY=true in tests: X-Forwarded-For names the client). */
function cable(url: string, ip: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['actioncable-v1-json'], {
      headers: { 'x-forwarded-for': ip, ...headers },
    })
    ws.once('message', (d) => resolve({ ws, status: 101, first: JSON.parse(d.toString()) }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, error: body ? JSON.parse(body).error : undefined }),
      )
    })
    ws.once('error', reject)
  })
}

for (const dialect of DIALECTS) {
  describe(`/cable socket limits, shared with /ws (${dialect})`, () => {
    let ctx: TestContext
    let ws: string
    const open: WebSocket[] = []
    const clients: TestClient[] = []
    /** A socket expected to open; kept open until the suite ends (or the test closes it). */
    const hold = async (url: string, ip: string) => {
      const a = await cable(url, ip)
      assert.ok('ws' in a, `expected ${url} from ${ip} to open: ${JSON.stringify(a.error)}`)
      open.push(a.ws)
      assert.equal(a.first.type, 'welcome')
      return a.ws
    }
    /** An attempt whose socket, if it opens, is closed again at once. */
    const attempt = async (url: string, ip: string, headers?: Record<string, string>) => {
      const a = await cable(url, ip, headers)
      if ('ws' in a) a.ws.terminate()
      return { status: a.status, error: a.error }
    }

    before(async () => {
      ctx = await buildTestApp({
        dialect,
        env: { WS_MAX_SOCKETS_PER_SESSION: String(PER_SESSION), WS_MAX_SOCKETS_PER_IP: String(PER_IP) },
      })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = ctx.app.server.address() as { port: number }
      ws = `ws://127.0.0.1:${port}`
    })
    after(async () => {
      for (const s of open) s.terminate()
      for (const c of clients) c.close()
      await ctx.close()
    })

    it("refuses a login's socket over WS_MAX_SOCKETS_PER_SESSION with 429 TOO_MANY_CONNECTIONS; a closed one frees its slot", async () => {
      const ip = '198.51.100.21'
      const editor = await account(ctx.app, 'editor')
      const url = `${ws}/cable?token=${editor.token}`
      const first = await hold(url, ip)
      await hold(url, ip)
      const refused = await attempt(url, ip)
      assert.equal(refused.status, 429)
      assert.equal(refused.error.code, 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(refused.error.details, { scope: 'session', limit: PER_SESSION })
      // Another login from the same address is not this login's business.
      await hold(`${ws}/cable?token=${(await account(ctx.app, 'editor')).token}`, ip)
      first.terminate()
      // The server sees the close a moment later; then the login has a slot again.
      await waitUntil(async () => (await attempt(url, '198.51.100.22')).status === 101, 10_000, 'a free slot')
      assert.ok(
        (await metric(ctx.app, 'ovasabi_ws_upgrades_refused_total', 'code="TOO_MANY_CONNECTIONS"')) >= 1,
      )
    })

    it('counts an API key as one session', async () => {
      const ip = '198.51.100.31'
      const { key } = await ctx.app.platform.apiKeys.create({ name: 'wall', role: 'editor' })
      for (let i = 0; i < PER_SESSION; i++) await hold(`${ws}/cable?token=${key}`, ip)
      const refused = await attempt(`${ws}/cable?token=${key}`, '198.51.100.32')
      assert.equal(refused.status, 429)
      assert.deepEqual(refused.error.details, { scope: 'session', limit: PER_SESSION })
    })

    it('gives an address one budget across /ws and /cable; other addresses are not affected', async () => {
      const ip = '203.0.113.41'
      const slug = await createCampaign(ctx.app)
      const guest = async () => (await ctx.app.platform.tokens.issueGuest()).token
      const headers = { 'x-forwarded-for': ip }
      for (let i = 0; i < PER_IP - 1; i++) {
        clients.push(await connectWs(`${ws}/ws/${slug}/guest?token=${await guest()}`, { headers }))
      }
      await hold(`${ws}/cable?token=${(await account(ctx.app, 'editor')).token}`, ip)
      // Full: neither endpoint opens another socket for this address, whatever the credential.
      const refused = await attempt(`${ws}/cable?token=${(await account(ctx.app, 'editor')).token}`, ip)
      assert.equal(refused.status, 429)
      assert.equal(refused.error.code, 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(refused.error.details, { scope: 'ip', limit: PER_IP })
      const viaWs = await connectWs(`${ws}/ws/${slug}/guest?token=${await guest()}`, { headers }).then(
        (c) => {
          c.close()
          return { status: 101, body: '' }
        },
        (err: { status?: number; body?: string }) => ({ status: err.status, body: err.body ?? '' }),
      )
      assert.equal(viaWs.status, 429)
      assert.deepEqual(JSON.parse(viaWs.body).error.details, { scope: 'ip', limit: PER_IP })
      const other = await attempt(
        `${ws}/cable?token=${(await account(ctx.app, 'editor')).token}`,
        '203.0.113.42',
      )
      assert.equal(other.status, 101)
    })

    it('gives an IPv6 /64 one budget across /ws and /cable, whichever of its addresses each socket comes from', async () => {
      const slug = await createCampaign(ctx.app)
      const guest = async () => (await ctx.app.platform.tokens.issueGuest()).token
      const editor = async () => (await account(ctx.app, 'editor')).token
      for (let i = 0; i < PER_IP - 1; i++) {
        const headers = { 'x-forwarded-for': `2001:db8:c:1::${i + 1}` }
        clients.push(await connectWs(`${ws}/ws/${slug}/guest?token=${await guest()}`, { headers }))
      }
      await hold(`${ws}/cable?token=${await editor()}`, '2001:db8:c:1:aaaa::1')
      const refused = await attempt(`${ws}/cable?token=${await editor()}`, '2001:db8:c:1:bbbb::1')
      assert.equal(refused.status, 429)
      assert.deepEqual(refused.error.details, { scope: 'ip', limit: PER_IP })
      assert.equal((await attempt(`${ws}/cable?token=${await editor()}`, '2001:db8:c:2::1')).status, 101)
    })

    it('frees the slots of /cable upgrades that were refused or unauthenticated', async () => {
      const ip = '192.0.2.51'
      const editor = await account(ctx.app, 'editor')
      // Refused after the address's slot was taken: the cookie from another site's page.
      for (let i = 0; i < PER_IP + 1; i++) {
        const r = await attempt(`${ws}/cable`, ip, {
          cookie: `jwt_token=${editor.token}`,
          origin: 'https://evil.example',
        })
        assert.equal(r.status, 403)
      }
      // Upgraded, told `unauthorized` and closed (what Rails does for a bad token).
      for (let i = 0; i < PER_IP + 1; i++) {
        const a = await cable(`${ws}/cable?token=not.a.token`, ip)
        assert.ok('ws' in a, `upgraded: ${a.status}`)
        assert.deepEqual(a.first, { type: 'disconnect', reason: 'unauthorized', reconnect: false })
        if (a.ws.readyState !== a.ws.CLOSED) await new Promise((r) => a.ws.once('close', r))
      }
      // None of those kept a slot: the address opens its full allowance, and not one more.
      const token = async () => (await account(ctx.app, 'editor')).token
      let first: WebSocket | undefined
      await waitUntil(
        async () => {
          const a = await cable(`${ws}/cable?token=${await token()}`, ip)
          if ('ws' in a && a.first.type === 'welcome') first = a.ws
          return first !== undefined
        },
        10_000,
        'the closed sockets to free their slots',
      )
      open.push(first!)
      for (let i = 1; i < PER_IP; i++) await hold(`${ws}/cable?token=${await token()}`, ip)
      assert.equal((await attempt(`${ws}/cable?token=${await token()}`, ip)).status, 429)
    })
  })
}

describe('/cable socket limits set to 0', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ env: { WS_MAX_SOCKETS_PER_SESSION: '0', WS_MAX_SOCKETS_PER_IP: '0' } })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(() => ctx.close())

  it('limit nothing (as the bench runs)', async () => {
    const { port } = ctx.app.server.address() as { port: number }
    const editor = await account(ctx.app, 'editor')
    const sockets: WebSocket[] = []
    try {
      // More than the defaults' 10 per session, from one address.
      for (let i = 0; i < 12; i++) {
        const a = await cable(`ws://127.0.0.1:${port}/cable?token=${editor.token}`, '198.51.100.99')
        assert.ok('ws' in a, JSON.stringify(a.error))
        sockets.push(a.ws)
      }
    } finally {
      for (const s of sockets) s.terminate()
    }
  })
})
