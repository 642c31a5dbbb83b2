import assert from 'node:assert/strict'
import { connect as tcpConnect } from 'node:net'
import { describe, it } from 'node:test'
import WebSocket from 'ws'
import { createCampaign, DIALECTS } from '../helper.js'
import { connect, metric, type TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** Sockets one session, and one address, may hold open (small, so the limits are reached cheaply). */
const PER_SESSION = 2
const PER_IP = 3

for (const dialect of DIALECTS) {
  describe(`realtime socket limits per session and per address (${dialect})`, () => {
    const live = realtimeSuite({
      dialect,
      env: { WS_MAX_SOCKETS_PER_SESSION: String(PER_SESSION), WS_MAX_SOCKETS_PER_IP: String(PER_IP) },
    })
    const guest = async () => (await live.app.platform.tokens.issueGuest()).token
    // TRUST_PROXY=true in tests: X-Forwarded-For names the client address, as behind a proxy.
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
    const open = async (path: string, ip: string) => {
      const c = await connect(`${live.url}${path}`, from(ip))
      live.keep(c)
      return c
    }
    /** The upgrade's answer: 101 (closed again at once), or the refusal's status and error. */
    const attempt = async (path: string, ip: string) =>
      connect(`${live.url}${path}`, from(ip)).then(
        (c) => {
          c.close()
          return { status: 101, error: undefined }
        },
        (err: { status?: number; body?: string }) => ({
          status: err.status,
          error: err.body ? JSON.parse(err.body).error : undefined,
        }),
      )

    it("refuses a session's socket over the limit with 429 TOO_MANY_CONNECTIONS; a closed one frees its slot", async () => {
      const slug = await createCampaign(live.app)
      const ip = '198.51.100.1'
      const token = await guest()
      const path = `/ws/${slug}/guest?token=${token}`
      const first = await open(path, ip)
      await open(path, ip)
      const refused = await attempt(path, ip)
      assert.equal(refused.status, 429)
      assert.equal(refused.error.code, 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(refused.error.details, { scope: 'session', limit: PER_SESSION })
      // Another session from the same address is not this session's business.
      await open(`/ws/${slug}/guest?token=${await guest()}`, ip)
      first.close()
      // The server sees the close a moment later; then the session has a slot again.
      await waitUntil(async () => (await attempt(path, '198.51.100.2')).status === 101, 10_000, 'a free slot')
      assert.ok(
        (await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="TOO_MANY_CONNECTIONS"')) >= 1,
      )
    })

    it("refuses an address's socket over the limit, whatever the session; other addresses are not affected", async () => {
      const slug = await createCampaign(live.app)
      const ip = '203.0.113.9'
      for (let i = 0; i < PER_IP; i++) await open(`/ws/${slug}/guest?token=${await guest()}`, ip)
      const refused = await attempt(`/ws/${slug}/guest?token=${await guest()}`, ip)
      assert.equal(refused.status, 429)
      assert.deepEqual(refused.error.details, { scope: 'ip', limit: PER_IP })
      assert.equal((await attempt(`/ws/${slug}/guest?token=${await guest()}`, '203.0.113.10')).status, 101)
    })

    it('counts an IPv6 client by its /64, and an IPv4-mapped address as that IPv4 address', async () => {
      const slug = await createCampaign(live.app)
      const path = async () => `/ws/${slug}/guest?token=${await guest()}`
      // Each socket from another address of one /64, as its holder may open them.
      for (let i = 0; i < PER_IP; i++) await open(await path(), `2001:db8:9:1::${i + 1}`)
      const refused = await attempt(await path(), '2001:db8:9:1:ffff:ffff:ffff:ffff')
      assert.equal(refused.status, 429)
      assert.deepEqual(refused.error.details, { scope: 'ip', limit: PER_IP })
      assert.equal((await attempt(await path(), '2001:db8:9:2::1')).status, 101, 'another /64')

      for (const ip of ['192.0.2.88', '::ffff:192.0.2.88', '::ffff:c000:258']) await open(await path(), ip)
      assert.equal((await attempt(await path(), '192.0.2.88')).status, 429)
    })

    it('frees the slots of upgrades that were refused, aborted or failed while opening', async () => {
      const slug = await createCampaign(live.app)
      const ip = '192.0.2.77'
      const { port } = new URL(live.url)
      // Refused for another reason (after the address's slot was taken).
      for (let i = 0; i < PER_IP + 1; i++) {
        assert.equal((await attempt(`/ws/${slug}/guest?token=not.a.jwt`, ip)).status, 401)
      }
      // Authorised, then aborted by `ws` (a bad Sec-WebSocket-Key): the handshake callback never runs.
      const token = await guest()
      for (let i = 0; i < PER_IP + 1; i++) {
        const answer = await new Promise<string>((resolve, reject) => {
          const s = tcpConnect(Number(port), '127.0.0.1')
          let text = ''
          s.on('data', (d) => {
            text += d
          })
          s.on('close', () => resolve(text))
          s.on('error', reject)
          s.write(
            `GET /ws/${slug}/guest?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
              'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n' +
              `X-Forwarded-For: ${ip}\r\n\r\n`,
          )
        })
        assert.match(answer, /^HTTP\/1\.1 400/)
      }
      // The client went away while its token was being checked.
      const auth = live.app.authenticator
      const resolve = auth.resolve
      const slow = await guest()
      let entered!: () => void
      const inside = new Promise<void>((r) => {
        entered = r
      })
      let release!: () => void
      const held = new Promise<void>((r) => {
        release = r
      })
      auth.resolve = async (credential) => {
        if (credential === slow) {
          entered()
          await held
        }
        return resolve(credential)
      }
      try {
        const ws = new WebSocket(`${live.url}/ws/${slug}/guest?token=${slow}`, from(ip))
        ws.on('error', () => {})
        await inside
        ws.terminate()
        await new Promise((r) => ws.once('close', r))
      } finally {
        release()
        auth.resolve = resolve
      }
      // Failed while opening: its campaign's channel could not be listened to (closed with 1011).
      const broken = await createCampaign(live.app)
      const bus = live.app.platform.bus
      const subscribe = bus.subscribe
      bus.subscribe = async (channel, handler) => {
        if (channel.endsWith(`:${broken}`)) throw new Error('bus down (test)')
        return subscribe.call(bus, channel, handler)
      }
      try {
        for (let i = 0; i < PER_IP + 1; i++) {
          const ws = new WebSocket(`${live.url}/ws/${broken}/guest?token=${await guest()}`, from(ip))
          const code = await new Promise<number>((r) => ws.once('close', r))
          assert.equal(code, 1011)
        }
      } finally {
        bus.subscribe = subscribe
      }
      // None of those kept a slot: the address opens its full allowance, and not one more.
      let first: TestClient | undefined
      await waitUntil(
        async () => {
          first = await connect(`${live.url}/ws/${slug}/guest?token=${await guest()}`, from(ip)).catch(
            () => undefined,
          )
          return first !== undefined
        },
        10_000,
        'the closed sockets to free their slots',
      )
      live.keep(first!)
      for (let i = 1; i < PER_IP; i++) await open(`/ws/${slug}/guest?token=${await guest()}`, ip)
      assert.equal((await attempt(`/ws/${slug}/guest?token=${await guest()}`, ip)).status, 429)
    })
  })
}
