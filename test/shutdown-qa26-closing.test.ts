// A request that reaches the app while it closes (pipelined behind one still in flight, on a
// connection shutdown cannot cut yet) was answered by Fastify's own 503 body: no error code, no
// request id, nothing a client or the SDK reads. It now gets the REST error body, 503
// SHUTTING_DOWN with Retry-After, and the request in flight before it finishes as usual.
import assert from 'node:assert/strict'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { buildTestApp } from './helper.js'

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The HTTP/1.1 responses in `raw`, in order (each framed by its Content-Length). */
function responses(raw: string): RawResponse[] {
  const out: RawResponse[] = []
  let rest = raw
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n')
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const at = line.indexOf(':')
      headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    out.push({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: rest.slice(end + 4, end + 4 + length),
    })
    rest = rest.slice(end + 4 + length)
  }
  return out
}

describe('requests that arrive while the server closes', () => {
  it('are answered 503 SHUTTING_DOWN with the error body, after the request in flight finishes', async () => {
    const t = await buildTestApp()
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = t.app.server.address() as AddressInfo
    const socket = net.connect(port, '127.0.0.1')
    let raw = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk) => {
      raw += chunk
    })
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    // The first request is in flight (half its body sent): the connection is busy, not idle.
    // The server's listeners run in order: once this one hears of it, Fastify has routed it.
    const routed = new Promise<void>((resolve) => t.app.server.once('request', () => resolve()))
    socket.write(
      'POST /api/session HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{',
    )
    await routed
    const closed = t.close()
    // Shutdown has begun once the listener takes no new connection.
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const probe = net.connect(port, '127.0.0.1')
        probe.once('error', () => resolve(true))
        probe.once('connect', () => {
          probe.destroy()
          resolve(false)
        })
      })
      if (refused) break
      await new Promise((r) => setTimeout(r, 20))
    }
    // The rest of the first request, and a second one behind it on the same connection.
    socket.write('}GET /health/live HTTP/1.1\r\nhost: localhost\r\nx-request-id: behind-1\r\n\r\n')
    await ended
    await closed

    const [first, second] = responses(raw)
    assert.equal(first?.status, 201, raw)
    assert.ok(JSON.parse(first!.body).token, 'the request in flight finished')
    assert.equal(second?.status, 503, raw)
    const body = JSON.parse(second!.body)
    assert.equal(body.status, 'error')
    assert.equal(body.error.code, 'SHUTTING_DOWN')
    assert.equal(body.request_id, 'behind-1')
    assert.equal(second!.headers['x-request-id'], 'behind-1')
    assert.equal(second!.headers['retry-after'], '5')
    assert.equal(second!.headers.connection, 'close')
    assert.equal(second!.headers['x-content-type-options'], 'nosniff')
  })
})
