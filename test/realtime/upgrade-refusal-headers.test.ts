// An upgrade refused before the handshake carries its error's headers, as the REST answer does
// (`Retry-After` above all), on a well-formed plain HTTP answer: one Content-Length that matches
// the body, `Connection: close`, and no header line an error could smuggle in with CR/LF.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { AppError } from '../../src/platform/http/errors.js'
import { refuse } from '../../src/realtime/upgrade.js'
import { createCampaign } from '../helper.js'
import { realtimeSuite, standaloneAdmission } from './fixtures.js'
import { assertRefusal, headerValues, rawUpgrade } from './raw-upgrade.js'

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
    assert.equal(assertRefusal(answer, 429), 'RATE_LIMITED')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['7'])
    assert.deepEqual(headerValues(answer, 'x-fine'), ['kept'])
    for (const name of ['set-cookie', 'x-evil', 'x-nul', 'bad name', 'x-split'])
      assert.deepEqual(headerValues(answer, name), [], `${name} sent`)
    assert.ok(!/set-cookie/i.test(answer.raw), 'nothing of the smuggled header went out')
  })

  it("an error's own Retry-After wins over the one its code would get", async () => {
    const answer = await rawUpgrade(port, '/maintenance')
    assert.equal(assertRefusal(answer, 503), 'MAINTENANCE')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['120'])
  })
})

describe('/ws refusals carry Retry-After', () => {
  it('503 SHUTTING_DOWN once shutdown began', async () => {
    const admission = standaloneAdmission(new Registry(), {
      closing: () => true,
      accept: () => assert.fail('nothing is accepted while shutting down'),
    })
    const server = createServer()
    server.on('upgrade', (req, socket, head) => admission.handle(req, socket, head))
    try {
      const answer = await rawUpgrade(await listen(server), '/ws/spring/guest?token=x')
      assert.equal(assertRefusal(answer, 503), 'SHUTTING_DOWN')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    } finally {
      await closeServer(server)
    }
  })

  describe('429 TOO_MANY_CONNECTIONS (the app)', () => {
    const live = realtimeSuite({ env: { WS_MAX_SOCKETS_PER_IP: '1' } })

    it('over the per-address limit', async () => {
      const slug = await createCampaign(live.app)
      const path = `/ws/${slug}/guest?token=${await live.guestToken()}`
      // TRUST_PROXY=true in tests: X-Forwarded-For names the client address.
      const from = { 'x-forwarded-for': '203.0.113.77' }
      await live.open(path, { headers: from })
      const answer = await rawUpgrade(live.port, path, from)
      assert.equal(assertRefusal(answer, 429), 'TOO_MANY_CONNECTIONS')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['10'])
    })
  })
})
