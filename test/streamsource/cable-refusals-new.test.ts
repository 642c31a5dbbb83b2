// `/cable`'s own upgrade refusals (maintenance, shutdown, the cookie's origin, an unchecked
// credential) are counted with `/ws`'s in `ovasabi_ws_upgrades_refused_total{code}`, and carry
// a `Retry-After` where coming back later helps.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { Admission } from '../../src/realtime/admission.js'
import { createRealtimeMetrics } from '../../src/realtime/metrics.js'
import { adminHeaders, buildTestApp, json, type TestContext } from '../helper.js'
import { metric } from '../realtime/client.js'
import { headerValues, type RawAnswer, rawUpgrade } from '../realtime/raw-upgrade-new.js'
import { cableOn, silent } from './cable-node.js'

const CABLE = { 'sec-websocket-protocol': 'actioncable-v1-json' }

function refusedWith(answer: RawAnswer, status: number, code: string) {
  assert.equal(answer.status, status)
  assert.equal(JSON.parse(answer.body).error.code, code)
  assert.deepEqual(headerValues(answer, 'content-length'), [String(Buffer.byteLength(answer.body))])
  assert.deepEqual(headerValues(answer, 'connection'), ['close'])
}

describe('/cable refusals in the app', () => {
  let ctx: TestContext
  let port: number
  const refused = (code: string) => metric(ctx.app, 'ovasabi_ws_upgrades_refused_total', `code="${code}"`)
  before(async () => {
    ctx = await buildTestApp()
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    port = (ctx.app.server.address() as { port: number }).port
  })
  after(() => ctx.close())

  it("counts 403 ORIGIN_NOT_ALLOWED (the login cookie from another site's page)", async () => {
    const before = await refused('ORIGIN_NOT_ALLOWED')
    const answer = await rawUpgrade(port, '/cable', {
      ...CABLE,
      cookie: 'jwt_token=whatever',
      origin: 'https://evil.example',
    })
    refusedWith(answer, 403, 'ORIGIN_NOT_ALLOWED')
    assert.deepEqual(headerValues(answer, 'retry-after'), [])
    assert.equal(await refused('ORIGIN_NOT_ALLOWED'), before + 1)
  })

  it('counts 503 MAINTENANCE, sent with Retry-After as the REST answer is', async () => {
    const toggle = (enabled: boolean) =>
      ctx.app.inject({
        method: 'PUT',
        url: '/api/v1/admin/maintenance',
        headers: adminHeaders,
        payload: { enabled },
      })
    assert.equal(json(await toggle(true)).maintenance, true)
    try {
      const before = await refused('MAINTENANCE')
      const answer = await rawUpgrade(port, '/cable?token=whatever', CABLE)
      refusedWith(answer, 503, 'MAINTENANCE')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['60'])
      assert.equal(await refused('MAINTENANCE'), before + 1)
    } finally {
      await toggle(false)
    }
  })
})

describe('/cable refusals through the gateway admission', () => {
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
    closing: () => false,
    accept: () => assert.fail('/cable completes its own handshakes'),
  })
  const refused = async (code: string) => {
    const prefix = `ovasabi_ws_upgrades_refused_total{code="${code}"} `
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(prefix))
    return line ? Number(line.slice(prefix.length)) : 0
  }
  let node: Awaited<ReturnType<typeof cableOn>>
  let port: number
  before(async () => {
    node = await cableOn({ admission: () => admission })
    port = Number(new URL(node.base).port)
  })
  after(() => node.close())

  it('counts 503 SERVICE_UNAVAILABLE (the credential could not be checked), with Retry-After', async () => {
    node.accounts.broken.add('token-3')
    const answer = await rawUpgrade(port, '/cable?token=token-3', CABLE)
    refusedWith(answer, 503, 'SERVICE_UNAVAILABLE')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    assert.equal(await refused('SERVICE_UNAVAILABLE'), 1)
  })

  it('counts 503 SHUTTING_DOWN once close() began, with Retry-After', async () => {
    await node.closeCable()
    const answer = await rawUpgrade(port, '/cable?token=token-4', CABLE)
    refusedWith(answer, 503, 'SHUTTING_DOWN')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    assert.equal(await refused('SHUTTING_DOWN'), 1)
  })
})
