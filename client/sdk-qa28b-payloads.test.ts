// What a page hands the SDK that JSON cannot carry (a BigInt, a cycle) is refused as the SDK's own
// error, `INVALID_PAYLOAD` with nothing sent, not a bare `TypeError`; and a `createSession()`
// answered 2xx without a session (empty, `{}`, not an object) is `INVALID_RESPONSE`, the client's
// token kept, as `register` and `login` keep theirs.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { describe, test } from 'node:test'
import { createCampaign } from '../test/helper.js'
import { createClient, OvasabiError } from './index.js'
import { recordingSockets, sdkServer, until } from './test-helpers.js'

/** The error a call failed with (fails the test when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<OvasabiError> {
  try {
    await call
  } catch (err) {
    assert.ok(err instanceof OvasabiError, `not an OvasabiError: ${String(err)}`)
    return err
  }
  assert.fail('expected the call to be refused')
}

const cycle = () => {
  const o: Record<string, unknown> = { name: 'Ada' }
  o.self = o
  return o
}

describe('SDK: a payload JSON cannot carry (real server)', () => {
  const server = sdkServer()

  test('dispatch rejects with INVALID_PAYLOAD and its requestId, sends nothing, and the socket goes on', async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = recordingSockets()
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1 }))
    await until(() => conn.state === 'open', 'open')
    const sent: string[] = []
    const ws = rec.sockets[0]!
    const send = ws.send.bind(ws)
    ws.send = ((data: string) => {
      sent.push(data)
      send(data)
    }) as typeof ws.send
    for (const payload of [{ n: 10n }, cycle()]) {
      const err = await refusal(conn.dispatch('quote.submit', payload, { requestId: 'req-bad' }))
      assert.deepEqual([err.code, err.status, err.requestId], ['INVALID_PAYLOAD', 0, 'req-bad'])
      assert.ok(err.cause instanceof TypeError)
    }
    assert.deepEqual(sent, [])
    const ack = await conn.dispatch('quote.submit', { name: 'Ada', email: `ada.${Date.now()}@example.org` })
    assert.equal(ack.status, 'success')
    assert.equal(rec.sockets.length, 1)
  })

  test('a REST body (action, a typed call) rejects with INVALID_PAYLOAD and no request goes out', async () => {
    let calls = 0
    const counting = (input: string, init?: RequestInit) => {
      calls++
      return globalThis.fetch(input, init)
    }
    const client = createClient({ baseUrl: server.baseUrl, fetch: counting })
    for (const call of [
      client.action('c', 'quote.submit', { n: 1n }, { requestId: 'req-rest' }),
      client.campaigns.create({ slug: 'x', title: 't', metadata: cycle() } as never),
      client.http.request('POST', '/api/quote', { body: { big: 2n } }),
    ]) {
      const err = await refusal(call)
      assert.deepEqual([err.code, err.status], ['INVALID_PAYLOAD', 0])
      assert.ok(err.cause instanceof TypeError)
    }
    assert.equal(calls, 0)
  })
})

describe('SDK: createSession answered 2xx without a session', () => {
  test('rejects with INVALID_RESPONSE and keeps the token, for each body that is no session', async () => {
    const bodies = ['', '{}', '[]', '"token"', 'null', '{"token":""}', '{"token":42}']
    let next = ''
    const upstream: Server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(next)
      })
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
    try {
      const { port } = upstream.address() as { port: number }
      const client = createClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'kept.token' })
      for (const body of bodies) {
        next = body
        const err = await refusal(client.createSession())
        assert.equal(err.code, 'INVALID_RESPONSE', body)
        assert.equal(client.token, 'kept.token', body)
      }
      // A real one is still taken.
      next = JSON.stringify({ token: 'new.token', session_id: 's', expires_at: '' })
      await client.createSession()
      assert.equal(client.token, 'new.token')
    } finally {
      upstream.closeAllConnections()
      await new Promise<void>((r) => upstream.close(() => r()))
    }
  })
})
