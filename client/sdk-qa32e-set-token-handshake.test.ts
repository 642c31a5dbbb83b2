// `setToken` while a socket is still in its handshake (connecting, not yet open). Before, the token
// did not reach that socket: it opened on the token before, and another person's token got through
// only after the reconnect backoff (closing a socket in its handshake reports 1006, taken for a
// drop). Now the same identity's token goes in-band as soon as the socket opens, and another
// identity's reconnects at once, resuming after the last event.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import WebSocket from 'ws'
import { createCampaign } from '../test/helper.js'
import { type ConnectionState, createClient, type WebSocketCtor } from './index.js'
import { errorsOf, sdkServer, until } from './test-helpers.js'

const PASSWORD = 'correct horse 42'
const mail = () => `qa32e_${randomBytes(4).toString('hex')}@example.com`

/**
 * A WebSocket class whose `n`th socket (1-based) runs `hook` right after it is made, while it is
 * certainly still in its handshake (no I/O has run yet); `handshaking` records that it was.
 */
function socketsWithHook(n: number, hook: () => void) {
  const sockets: WebSocket[] = []
  const seen = { handshaking: false }
  class Hooked extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      sockets.push(this)
      if (sockets.length !== n) return
      queueMicrotask(() => {
        seen.handshaking = this.readyState === WebSocket.CONNECTING
        hook()
      })
    }
  }
  return { sockets, seen, WebSocket: Hooked as unknown as WebSocketCtor }
}

/** A backoff that would keep a dropped socket down for minutes: only a switch reopens it at once. */
const noRetrySoon = {
  frequency: 1,
  backoff: { initialMs: 600_000, maxMs: 600_000, restartWindowMs: 600_000 },
  heartbeat: false as const,
}

describe('SDK: setToken during a socket handshake (real server, real socket)', () => {
  const server = sdkServer()

  test("the same person's other session: sent in-band as soon as the socket opens", async () => {
    const slug = await createCampaign(server.ctx.app)
    const email = mail()
    const setup = createClient({ baseUrl: server.baseUrl })
    await setup.createSession()
    await setup.users.register({ campaign: slug, email, name: 'Cy', password: PASSWORD })
    const laptop = createClient({ baseUrl: server.baseUrl })
    const login = await laptop.users.login({ email, password: PASSWORD })

    let page!: ReturnType<typeof createClient>
    const rec = socketsWithHook(1, () => page.setToken(login.token))
    page = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    page.setToken(setup.token)
    const conn = server.keep(page.connect(slug, noRetrySoon))
    const seen = errorsOf(conn)
    let taken = false
    conn.on('auth_ok', () => {
      taken = true
    })
    await until(() => taken, 'auth_ok for the token set in the handshake')
    assert.ok(rec.seen.handshaking, 'the token was set while the socket was connecting')
    assert.equal(rec.sockets.length, 1)
    assert.equal(conn.state, 'open')
    assert.deepEqual(seen, [])

    // The server's word: the socket belongs to the laptop's session, so ending it closes the socket.
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      rec.sockets[0]!.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    await laptop.users.logout()
    assert.deepEqual(await closed, { code: 1008, reason: 'TOKEN_REVOKED' })
  })

  test("another guest session's token in the first handshake: reconnects at once as that session", async () => {
    const slug = await createCampaign(server.ctx.app)
    const other = await server.ctx.app.platform.tokens.issueGuest()
    let page!: ReturnType<typeof createClient>
    const rec = socketsWithHook(1, () => page.setToken(other.token))
    page = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await page.createSession()
    const conn = server.keep(page.connect(slug, noRetrySoon))
    const seen = errorsOf(conn)
    const states: ConnectionState[] = []
    conn.onState((s) => states.push(s))
    await until(() => conn.state === 'open', 'open')
    assert.ok(rec.seen.handshaking, 'the token was set while the socket was connecting')
    assert.equal(rec.sockets.length, 2)
    assert.equal(conn.session?.user_id, 'guest')
    assert.equal(conn.session?.session_id, other.principal.session_id)
    // The in-band route would have been refused (USER_MISMATCH); the reconnect is not.
    assert.deepEqual(seen, [])
    assert.ok(!states.includes('closed'), `states: ${states.join(', ')}`)
    const event = `qa32e.${randomBytes(3).toString('hex')}`
    assert.equal((await conn.dispatch(event, {})).status, 'success')
    const rows = await server.ctx.app.platform.database.db
      .selectFrom('service_analytics_event')
      .select(['session_id'])
      .where('campaign_slug', '=', slug)
      .where('event', '=', event)
      .orderBy('id')
      .execute()
    assert.deepEqual(
      rows.map((r) => r.session_id),
      [other.principal.session_id],
    )
  })

  test("a person's token during a reconnect's handshake: reconnects at once as the person, resuming after the last event", async () => {
    const slug = await createCampaign(server.ctx.app)
    const elsewhere = createClient({ baseUrl: server.baseUrl })
    await elsewhere.createSession()
    const joined = await elsewhere.users.register({ campaign: slug, email: mail(), name: 'Di' })
    const otherGuest = await server.ctx.app.platform.tokens.issueGuest()

    let page!: ReturnType<typeof createClient>
    // Socket 2 is the reconnect as another guest session; the person's token comes in its handshake.
    const rec = socketsWithHook(2, () => page.setToken(joined.token))
    page = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await page.createSession()
    const conn = server.keep(page.connect(slug, noRetrySoon))
    const seen = errorsOf(conn)
    const states: ConnectionState[] = []
    conn.onState((s) => states.push(s))
    await until(() => conn.state === 'open', 'open as the guest')
    const resumeFrom = conn.lastEventId
    assert.equal(typeof resumeFrom, 'number')

    page.setToken(otherGuest.token)
    await until(() => rec.sockets.length === 3 && conn.state === 'open', 'open as the person')
    assert.ok(rec.seen.handshaking, 'the token was set while the socket was connecting')
    assert.equal(conn.session?.user_id, joined.user.id)
    const reopened = new URL(rec.sockets[2]!.url)
    assert.equal(reopened.pathname, `/ws/${slug}/${encodeURIComponent(joined.user.id)}`)
    assert.equal(reopened.searchParams.get('since'), String(resumeFrom))
    assert.ok(!states.includes('closed'), `states: ${states.join(', ')}`)
    assert.deepEqual(seen, [])
  })
})
