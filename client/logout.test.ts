import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import {
  createClient,
  type FetchLike,
  OvasabiError,
  type RealtimeConnection,
  type WebSocketCtor,
  type WebSocketLike,
} from './index.js'

const PASSWORD = 'correct horse 42'
const mail = () => `sdk_${randomBytes(4).toString('hex')}@example.com`

/** A socket that never opens: enough to see whether the client closes it. */
class IdleSocket implements WebSocketLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  closed?: number
  constructor(readonly protocols?: string | string[]) {}
  send() {}
  close(code = 1000) {
    this.closed = code
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }
}

/** A fetch answering every call with `status` and `body`, recording what was asked. */
function answering(
  status: number,
  body: unknown,
  seen: Array<{ url: string; init?: RequestInit }>,
): FetchLike {
  return async (url, init) => {
    seen.push({ url, init })
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  }
}

async function settle(conn: RealtimeConnection, state: RealtimeConnection['state']) {
  for (let i = 0; i < 500 && conn.state !== state; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(conn.state, state)
}

describe('client logout (injected fetch and socket)', () => {
  const sockets: IdleSocket[] = []
  const Socket = class extends IdleSocket {
    constructor(_url: string, protocols?: string | string[]) {
      super(protocols)
      sockets.push(this)
    }
  } as unknown as WebSocketCtor
  /** The socket opened with this token (sent as `Sec-WebSocket-Protocol: ovasabi, <token>`). */
  const socketOf = (token: string) => sockets.find((s) => s.protocols?.[1] === token)

  for (const [name, path, all] of [
    ['logout', '/api/auth/logout', false],
    ['logoutEverywhere', '/api/auth/logout/all', true],
  ] as const) {
    test(`${name}() posts ${path}, forgets the token and closes the client's own sockets`, async () => {
      const seen: Array<{ url: string; init?: RequestInit }> = []
      const client = createClient({
        baseUrl: 'http://ovasabi.test',
        token: `user.${name}`,
        fetch: answering(200, { status: 'logged_out', all }, seen),
        WebSocket: Socket,
      })
      const own = client.connect('launch', { frequency: 1 })
      const other = client.connect('launch', { frequency: 1, token: `other.${name}` })
      for (let i = 0; i < 2000 && !(socketOf(`user.${name}`) && socketOf(`other.${name}`)); i++)
        await new Promise((r) => setTimeout(r, 10))
      const [ownSocket, otherSocket] = [socketOf(`user.${name}`), socketOf(`other.${name}`)]
      assert.ok(ownSocket && otherSocket)
      const result = await client.users[name]()
      assert.deepEqual(result, { status: 'logged_out', all })
      assert.equal(seen.length, 1)
      assert.equal(seen[0]!.url, `http://ovasabi.test${path}`)
      assert.equal(seen[0]!.init?.method, 'POST')
      const headers = seen[0]!.init!.headers as Record<string, string>
      assert.equal(headers.authorization, `Bearer user.${name}`)
      assert.equal(client.token, undefined)
      assert.equal(own.state, 'closed')
      assert.equal(ownSocket!.closed, 1000)
      // A socket opened on a token the caller passed is the caller's to close.
      assert.notEqual(other.state, 'closed')
      assert.equal(otherSocket!.closed, undefined)
      other.close()
    })
  }

  test('a token the server already refuses (401) is forgotten too; a failure to reach it keeps the token', async () => {
    const refused = createClient({
      baseUrl: 'http://ovasabi.test',
      token: 'old.jwt.token',
      fetch: answering(401, { status: 'error', error: { code: 'TOKEN_REVOKED', message: 'revoked' } }, []),
    })
    const err = await refused.users.logout().then(
      () => assert.fail('expected TOKEN_REVOKED'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof OvasabiError)
    assert.equal(err.code, 'TOKEN_REVOKED')
    assert.equal(refused.token, undefined)

    const offline = createClient({
      baseUrl: 'http://127.0.0.1:9',
      token: 'live.jwt.token',
    })
    const down = await offline.users.logoutEverywhere().then(
      () => assert.fail('expected NETWORK_ERROR'),
      (e: unknown) => e as OvasabiError,
    )
    assert.equal(down.code, 'NETWORK_ERROR')
    assert.equal(offline.token, 'live.jwt.token', 'kept, so the logout can be retried')
  })
})

for (const dialect of DIALECTS) {
  describe(`client logout against the real server (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => ctx.close())

    const client = () => createClient({ baseUrl, WebSocket: WebSocket as unknown as WebSocketCtor })

    test('logout() ends the session on the server, forgets the token and closes the live socket', async () => {
      const slug = await createCampaign(ctx.app)
      const ovs = client()
      await ovs.createSession()
      const joined = await ovs.users.register({ campaign: slug, email: mail(), name: 'Ann' })
      const token = ovs.token!
      assert.equal(token, joined.token)
      const live = ovs.connect(slug, { userId: joined.user.id, frequency: 1 })
      try {
        await settle(live, 'open')
        const result = await ovs.users.logout()
        assert.deepEqual(result, { status: 'logged_out', all: false })
        assert.equal(ovs.token, undefined)
        await settle(live, 'closed')
      } finally {
        live.close()
      }
      // The server refuses the old token.
      const stale = createClient({ baseUrl, token })
      const err = await stale.campaigns.get(slug).then(
        () => assert.fail('expected TOKEN_REVOKED'),
        (e: unknown) => e as OvasabiError,
      )
      assert.equal(err.status, 401)
      assert.equal(err.code, 'TOKEN_REVOKED')
      // Logging out again with it: refused, and nothing left to forget.
      const again = await stale.users.logout().then(
        () => assert.fail('expected a 401'),
        (e: unknown) => e as OvasabiError,
      )
      assert.equal(again.status, 401)
      assert.equal(stale.token, undefined)
    })

    test('logoutEverywhere() ends the person’s other logins too', async () => {
      const slug = await createCampaign(ctx.app)
      const address = mail()
      const phone = client()
      await phone.users.register({ campaign: slug, email: address, name: 'Bo', password: PASSWORD })
      const laptop = client()
      await laptop.users.login({ email: address, password: PASSWORD })
      assert.ok(laptop.token)

      const result = await phone.users.logoutEverywhere()
      assert.equal(result.status, 'logged_out')
      assert.equal(result.all, true)
      assert.ok(result.tokens_valid_after)
      assert.equal(phone.token, undefined)
      const err = await laptop.campaigns.get(slug).then(
        () => assert.fail('expected TOKEN_REVOKED'),
        (e: unknown) => e as OvasabiError,
      )
      assert.equal(err.code, 'TOKEN_REVOKED')
      // A new login works (without the refused token, which the server would turn down first).
      laptop.setToken(undefined)
      await laptop.users.login({ email: address, password: PASSWORD })
      assert.ok(await laptop.campaigns.get(slug))
    })
  })
}
