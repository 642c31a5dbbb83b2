// Deadlines and aborts as a page sets them: `timeoutMs: Infinity` (or any deadline past what a
// timer holds, ~24.8 days) means "none", not "fail at once" (timers fire at 1 ms past 2^31-1); and
// an `action` whose signal aborts while it waits on a 409 REQUEST_IN_PROGRESS rejects with ABORTED,
// as an abort at any other moment does, not with the server's last refusal.
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

describe('SDK: deadlines no timer can hold are none (real server)', () => {
  const server = sdkServer()

  test('REST: timeoutMs Infinity, or past 2^31-1 ms, on the client or the call, waits for the answer', async () => {
    const forever = createClient({ baseUrl: server.baseUrl, timeoutMs: Number.POSITIVE_INFINITY })
    assert.equal((await forever.health()).status, 'healthy')
    const month = createClient({ baseUrl: server.baseUrl, timeoutMs: 30 * 24 * 3600 * 1000 })
    assert.equal((await month.health()).status, 'healthy')
    const perCall = createClient({ baseUrl: server.baseUrl })
    const body = await perCall.http.request<{ status: string }>('GET', '/health', {
      auth: false,
      timeoutMs: Number.POSITIVE_INFINITY,
    })
    assert.equal(body.status, 'healthy')
  })

  test('dispatch: timeoutMs Infinity resolves with its ack', async () => {
    const slug = await createCampaign(server.ctx.app)
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1 }))
    await until(() => conn.state === 'open', 'open')
    const ack = await conn.dispatch(
      'quote.submit',
      { name: 'Ada', email: `ada.${Date.now()}@example.org` },
      { timeoutMs: Number.POSITIVE_INFINITY },
    )
    assert.equal(ack.status, 'success')
  })
})

describe('SDK: an action aborted while it waits on REQUEST_IN_PROGRESS', () => {
  test('rejects with ABORTED (and its request id), and is not sent again', async () => {
    let posts = 0
    const ids = new Set<string>()
    // The server's answer while another node still runs the first request with this id.
    const upstream: Server = createServer((req, res) => {
      let raw = ''
      req.on('data', (c) => {
        raw += c
      })
      req.on('end', () => {
        posts++
        ids.add((JSON.parse(raw) as { request_id: string }).request_id)
        res.writeHead(409, { 'content-type': 'application/json', 'retry-after': '30' })
        res.end(
          JSON.stringify({
            status: 'error',
            error: { code: 'REQUEST_IN_PROGRESS', message: 'The first request is still running' },
          }),
        )
      })
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
    try {
      const { port } = upstream.address() as { port: number }
      const client = createClient({ baseUrl: `http://127.0.0.1:${port}` })
      const ctl = new AbortController()
      const call = client.action('c', 'quote.submit', {}, { requestId: 'req-qa28', signal: ctl.signal })
      await until(() => posts === 1, 'the first 409')
      // Well inside the 10 s the SDK now waits before sending it again.
      await new Promise((r) => setTimeout(r, 50))
      ctl.abort()
      const err = await refusal(call)
      // Before: REQUEST_IN_PROGRESS, 409, as if the server had refused it; an abort during the
      // request itself is ABORTED.
      assert.deepEqual([err.code, err.status, err.requestId], ['ABORTED', 0, 'req-qa28'])
      assert.equal((err.cause as OvasabiError).code, 'REQUEST_IN_PROGRESS')
      assert.equal(posts, 1)
      assert.deepEqual([...ids], ['req-qa28'])
    } finally {
      upstream.closeAllConnections()
      await new Promise<void>((r) => upstream.close(() => r()))
    }
  })
})
