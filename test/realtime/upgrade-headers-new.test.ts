// An upgrade refused before the handshake carries its error's headers, as the REST answer does
// (`Retry-After` above all), on a well-formed plain HTTP answer: one Content-Length that matches
// the body, `Connection: close`, and no header line an error could smuggle in with CR/LF.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import { Registry } from 'prom-client'
import { AppError } from '../../src/platform/http/errors.js'
import { Admission } from '../../src/realtime/admission.js'
import { createRealtimeMetrics } from '../../src/realtime/metrics.js'
import { refuse } from '../../src/realtime/upgrade.js'
import { buildTestApp, createCampaign, type TestContext } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'
import { headerValues, type RawAnswer, rawUpgrade } from './raw-upgrade-new.js'

const silent = { warn() {}, info() {}, error() {}, debug() {} } as unknown as FastifyBaseLogger

/** A refusal as every upgrade refusal must be framed, whatever headers it carries; its error code. */
function assertFramed(answer: RawAnswer, status: number): string {
  assert.equal(answer.status, status)
  assert.deepEqual(headerValues(answer, 'content-length'), [String(Buffer.byteLength(answer.body))])
  assert.deepEqual(headerValues(answer, 'connection'), ['close'])
  assert.deepEqual(headerValues(answer, 'content-type'), ['application/json; charset=utf-8'])
  return JSON.parse(answer.body).error.code
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as { port: number }).port
}

async function closeServer(server: Server) {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
}

describe("upgrade refusals carry the error's headers", () => {
  const server = createServer()
  let port: number
  const errors: Record<string, AppError> = {
    '/own': new AppError(429, 'RATE_LIMITED', 'Slow down', {
      headers: {
        'retry-after': '7',
        'x-evil': 'a\r\nSet-Cookie: session=stolen',
        'x-nul': 'a\u0000b',
        'bad name': 'x',
        'x-split\r\nset-cookie': 'y',
        'content-length': '0',
        connection: 'keep-alive',
        'x-fine': 'kept',
      },
    }),
    '/maintenance': new AppError(503, 'MAINTENANCE', 'Back soon', { headers: { 'Retry-After': '120' } }),
  }
  before(async () => {
    server.on('upgrade', (req, socket) => refuse(socket, errors[req.url ?? '']))
    port = await listen(server)
  })
  after(() => closeServer(server))

  it('sends valid headers, never one with CR, LF or NUL, and keeps its own framing', async () => {
    const answer = await rawUpgrade(port, '/own')
    assert.equal(assertFramed(answer, 429), 'RATE_LIMITED')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['7'])
    assert.deepEqual(headerValues(answer, 'x-fine'), ['kept'])
    for (const name of ['set-cookie', 'x-evil', 'x-nul', 'bad name', 'x-split'])
      assert.deepEqual(headerValues(answer, name), [], `${name} sent`)
    assert.ok(!/set-cookie/i.test(answer.raw), 'nothing of the smuggled header went out')
  })

  it("an error's own Retry-After wins over the one its code would get", async () => {
    const answer = await rawUpgrade(port, '/maintenance')
    assert.equal(assertFramed(answer, 503), 'MAINTENANCE')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['120'])
  })
})

describe('/ws refusals carry Retry-After', () => {
  it('503 SHUTTING_DOWN once shutdown began', async () => {
    const registry = new Registry()
    const admission = new Admission({
      authenticator: {} as never,
      campaigns: {} as never,
      metrics: createRealtimeMetrics(registry),
      log: silent,
      config: {
        TRUST_PROXY: 'false',
        CORS_ORIGINS: [],
        PUBLIC_URL: undefined,
        WS_MAX_SOCKETS_PER_SESSION: 0,
        WS_MAX_SOCKETS_PER_IP: 0,
      },
      closing: () => true,
      accept: () => assert.fail('nothing is accepted while shutting down'),
    })
    const server = createServer()
    server.on('upgrade', (req, socket, head) => admission.handle(req, socket, head))
    try {
      const answer = await rawUpgrade(await listen(server), '/ws/spring/guest?token=x')
      assert.equal(assertFramed(answer, 503), 'SHUTTING_DOWN')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    } finally {
      await closeServer(server)
    }
  })

  describe('429 TOO_MANY_CONNECTIONS (the app)', () => {
    let ctx: TestContext
    const clients: TestClient[] = []
    before(async () => {
      ctx = await buildTestApp({ env: { WS_MAX_SOCKETS_PER_IP: '1' } })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('over the per-address limit', async () => {
      const slug = await createCampaign(ctx.app)
      const path = `/ws/${slug}/guest?token=${(await ctx.app.platform.tokens.issueGuest()).token}`
      // TRUST_PROXY=true in tests: X-Forwarded-For names the client address.
      const from = { 'x-forwarded-for': '203.0.113.77' }
      clients.push(await connect(`${baseUrl(ctx.app)}${path}`, { headers: from }))
      const { port } = ctx.app.server.address() as { port: number }
      const answer = await rawUpgrade(port, path, from)
      assert.equal(assertFramed(answer, 429), 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['10'])
    })
  })
})
