// `setToken` reaches the sockets `connect()` opened on the client's token. Before, it changed only
// the token of later REST calls: an open socket went on as the identity it was opened with (a guest
// who joined kept acting as the guest over the socket), and a refreshed token of the same person
// never reached the server until the socket happened to reconnect.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { createCampaign } from '../test/helper.js'
import { type ConnectionState, createClient } from './index.js'
import { errorsOf, recordingSockets, sdkServer, until } from './test-helpers.js'

const PASSWORD = 'correct horse 42'
const mail = () => `qa31c_${randomBytes(4).toString('hex')}@example.com`

describe('SDK: setToken reaches the open sockets (real server, real socket)', () => {
  const server = sdkServer()
  const clientWith = (WebSocket: ReturnType<typeof recordingSockets>['WebSocket']) =>
    createClient({ baseUrl: server.baseUrl, WebSocket })

  test("a person's token: the guest's socket reconnects as the person, resuming after its last event", async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = recordingSockets()
    const page = clientWith(rec.WebSocket)
    await page.createSession()
    const conn = server.keep(page.connect(slug, { frequency: 1 }))
    const seen = errorsOf(conn)
    const states: ConnectionState[] = []
    conn.onState((s) => states.push(s))
    await until(() => conn.state === 'open', 'open as the guest')
    assert.equal(conn.session?.user_id, 'guest')
    const resumeFrom = conn.lastEventId
    assert.equal(typeof resumeFrom, 'number')

    // The person joins elsewhere (another tab, a server-side join) and the page is handed the token.
    const elsewhere = createClient({ baseUrl: server.baseUrl })
    await elsewhere.createSession()
    const joined = await elsewhere.users.register({ campaign: slug, email: mail(), name: 'Ada' })
    page.setToken(joined.token)

    await until(() => rec.sockets.length === 2 && conn.state === 'open', 'reopened')
    assert.equal(conn.session?.user_id, joined.user.id)
    const reopened = new URL(rec.sockets[1]!.url)
    assert.equal(reopened.pathname, `/ws/${slug}/${encodeURIComponent(joined.user.id)}`)
    assert.equal(reopened.searchParams.get('since'), String(resumeFrom))
    // A switch, not a failure: no close, nothing told to onError.
    assert.ok(!states.includes('closed'), `states: ${states.join(', ')}`)
    assert.deepEqual(seen, [])

    // The server's word: an action sent over the socket is recorded as the person's.
    const event = `qa31c.${randomBytes(3).toString('hex')}`
    const ack = await conn.dispatch(event, { n: 1 })
    assert.equal(ack.status, 'success')
    const rows = await server.ctx.app.platform.database.db
      .selectFrom('service_analytics_event')
      .select(['user_id'])
      .where('campaign_slug', '=', slug)
      .where('event', '=', event)
      .orderBy('id')
      .execute()
    assert.deepEqual(
      rows.map((r) => r.user_id),
      [joined.user.id],
    )
  })

  test("another session's token of the same person: taken in-band, the socket stays and moves to it", async () => {
    const slug = await createCampaign(server.ctx.app)
    const email = mail()
    const rec = recordingSockets()
    const page = clientWith(rec.WebSocket)
    await page.createSession()
    const joined = await page.users.register({ campaign: slug, email, name: 'Bo', password: PASSWORD })
    const conn = server.keep(page.connect(slug, { frequency: 1 }))
    const seen = errorsOf(conn)
    let taken = false
    conn.on('auth_ok', () => {
      taken = true
    })
    await until(() => conn.state === 'open', 'open as the person')
    assert.equal(conn.session?.user_id, joined.user.id)

    const laptop = createClient({ baseUrl: server.baseUrl })
    const login = await laptop.users.login({ email, password: PASSWORD })
    page.setToken(login.token)
    await until(() => taken, 'auth_ok')
    assert.equal(rec.sockets.length, 1)
    assert.equal(conn.state, 'open')
    assert.deepEqual(seen, [])

    // The server's word: the socket now belongs to the laptop's session, so ending that session
    // closes it at once (on the page's own session it would have stayed open).
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      rec.sockets[0]!.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    await laptop.users.logout()
    assert.deepEqual(await closed, { code: 1008, reason: 'TOKEN_REVOKED' })
  })

  test("another guest session's token: the socket reconnects as that session", async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = recordingSockets()
    const page = clientWith(rec.WebSocket)
    await page.createSession()
    const conn = server.keep(page.connect(slug, { frequency: 1 }))
    const seen = errorsOf(conn)
    await until(() => conn.state === 'open', 'open')
    const first = conn.session!.session_id

    const other = await server.ctx.app.platform.tokens.issueGuest()
    page.setToken(other.token)
    await until(() => rec.sockets.length === 2 && conn.state === 'open', 'reopened')
    assert.notEqual(conn.session?.session_id, first)
    assert.equal(conn.session?.user_id, 'guest')
    // The in-band route would have been refused (USER_MISMATCH); the reconnect is not.
    assert.deepEqual(seen, [])
  })
})
