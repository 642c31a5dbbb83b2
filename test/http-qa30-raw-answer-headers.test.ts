import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, type TestContext } from './helper.js'
import { type Answer, open } from './slow-client.js'

/**
 * Some answers are written straight to the socket, for requests Fastify cannot answer (a head that
 * never finished, headers too large, a body that stopped coming). They carried none of the
 * security headers every other answer carries (QA 30c fixed those of the router's own answers),
 * nor `Cache-Control: no-store`, so a proxy could keep one, and a browser sniff its body.
 */
describe('answers written straight to the socket', () => {
  let ctx: TestContext
  let port: number
  before(async () => {
    ctx = await buildTestApp({
      env: { HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1' },
    })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    port = (ctx.app.server.address() as AddressInfo).port
  })
  after(() => ctx.close())

  function assertGuarded(answer: Answer, status: number) {
    assert.equal(answer.status, status, JSON.stringify(answer))
    const h = answer.headers
    assert.equal(h['x-content-type-options'], 'nosniff')
    assert.equal(h['cache-control'], 'no-store')
    assert.equal(h['x-frame-options'], 'SAMEORIGIN')
    assert.match(h['strict-transport-security'] ?? '', /max-age=/)
    assert.match(h['content-security-policy'] ?? '', /default-src 'none'/)
  }

  it('a head that never finished (408)', async () => {
    const { socket, closed } = open(port)
    socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n')
    // A header line keeps coming, so only the head's deadline, not the idle one, can end it.
    let n = 0
    const trickle = setInterval(() => socket.writable && socket.write(`x-slow-${n++}: 1\r\n`), 200)
    try {
      assertGuarded(await closed, 408)
    } finally {
      clearInterval(trickle)
    }
  })

  it('headers too large (431)', async () => {
    const { socket, closed } = open(port)
    socket.write(`GET /health HTTP/1.1\r\nhost: localhost\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)
    assertGuarded(await closed, 431)
  })

  it('a body that stopped coming (408)', async () => {
    const { socket, closed } = open(port)
    socket.write(
      'POST /api/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
        'content-length: 100\r\n\r\n{"email":',
    )
    assertGuarded(await closed, 408)
  })
})
