// An in-band `reauth` the server refuses (USER_MISMATCH: another session's token; INVALID_TOKEN)
// leaves the socket on the token it had: the refusal is said to `onError`, and a reconnect opens
// with the last token the server accepted, not the refused one. Before, the refusal went unsaid
// and, with a fixed token, the refused one was used on the next reconnect (another session).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import WebSocket from 'ws'
import { createCampaign } from '../test/helper.js'
import { createClient, type WebSocketCtor } from './index.js'
import { errorsOf, sdkServer, until } from './test-helpers.js'

/** Sockets opened, each with the subprotocols (the token) it was opened with. */
function protocolSockets() {
  const opened: Array<{ ws: WebSocket; protocols: string[] }> = []
  class Recorded extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      opened.push({ ws: this, protocols: [protocols ?? []].flat() })
    }
  }
  return { opened, WebSocket: Recorded as unknown as WebSocketCtor }
}

describe('SDK: an in-band reauth the server refuses (real server)', () => {
  const server = sdkServer()
  const guest = async (sessionId?: string) =>
    (await server.ctx.app.platform.tokens.issueGuest(sessionId ? { sessionId } : {})).token

  test('fixed token: each refusal goes to onError; the reconnect uses the last accepted token', async () => {
    const slug = await createCampaign(server.ctx.app)
    const first = await guest()
    const rec = protocolSockets()
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    const conn = server.keep(
      client.connect(slug, { token: first, frequency: 1, backoff: { initialMs: 20, maxMs: 200 } }),
    )
    const seen = errorsOf(conn)
    await until(() => conn.state === 'open', 'open')
    const sessionId = conn.session!.session_id
    // Accepted: a fresh token of the same session is the one to reconnect with from now on.
    const refreshed = await guest(sessionId)
    const ok = new Promise((r) => conn.on('auth_ok', r))
    conn.reauth(refreshed)
    await ok
    conn.reauth('not.a.jwt')
    await until(() => seen.some((e) => e.code === 'INVALID_TOKEN'), 'INVALID_TOKEN told')
    conn.reauth(await guest())
    await until(() => seen.some((e) => e.code === 'USER_MISMATCH'), 'USER_MISMATCH told')
    assert.equal(seen.find((e) => e.code === 'USER_MISMATCH')?.status, 403)
    assert.equal(seen.find((e) => e.code === 'INVALID_TOKEN')?.status, 401)
    // The connection goes on as it was.
    assert.equal(conn.state, 'open')
    assert.equal(conn.error, undefined)
    rec.opened[0]!.ws.terminate()
    await until(() => rec.opened.length === 2 && conn.state === 'open', 'reopened')
    assert.deepEqual(rec.opened[1]!.protocols, ['ovasabi', refreshed])
    assert.equal(conn.session?.session_id, sessionId)
  })

  test("the client's own socket: a refused reauth token is not used on the reconnect", async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = protocolSockets()
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1, backoff: { initialMs: 20, maxMs: 200 } }))
    const seen = errorsOf(conn)
    await until(() => conn.state === 'open', 'open')
    const sessionId = conn.session!.session_id
    conn.reauth(await guest())
    await until(() => seen.some((e) => e.code === 'USER_MISMATCH'), 'USER_MISMATCH told')
    rec.opened[0]!.ws.terminate()
    await until(() => rec.opened.length === 2 && conn.state === 'open', 'reopened')
    assert.deepEqual(rec.opened[1]!.protocols, ['ovasabi', client.token])
    assert.equal(conn.session?.session_id, sessionId)
  })
})
