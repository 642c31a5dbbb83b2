// `/cable`'s own upgrade refusals (maintenance, shutdown, the cookie's origin, an unchecked
// credential) are counted with `/ws`'s in `ovasabi_ws_upgrades_refused_total{code}`, and carry
// a `Retry-After` where coming back later helps.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { adminHeaders, json } from '../helper.js'
import { metric, registryMetric } from '../realtime/client.js'
import { realtimeSuite, standaloneAdmission } from '../realtime/fixtures.js'
import { assertRefusal, headerValues, rawUpgrade } from '../realtime/raw-upgrade.js'
import { cableOn } from './cable-node.js'

const CABLE = { 'sec-websocket-protocol': 'actioncable-v1-json' }

describe('/cable refusals in the app', () => {
  const live = realtimeSuite()
  const refused = (code: string) => metric(live.app, 'ovasabi_ws_upgrades_refused_total', `code="${code}"`)

  it("counts 403 ORIGIN_NOT_ALLOWED (the login cookie from another site's page)", async () => {
    const before = await refused('ORIGIN_NOT_ALLOWED')
    const answer = await rawUpgrade(live.port, '/cable', {
      ...CABLE,
      cookie: 'jwt_token=whatever',
      origin: 'https://evil.example',
    })
    assert.equal(assertRefusal(answer, 403), 'ORIGIN_NOT_ALLOWED')
    assert.deepEqual(headerValues(answer, 'retry-after'), [])
    assert.equal(await refused('ORIGIN_NOT_ALLOWED'), before + 1)
  })

  it('counts 503 MAINTENANCE, sent with Retry-After as the REST answer is', async () => {
    const toggle = (enabled: boolean) =>
      live.app.inject({
        method: 'PUT',
        url: '/api/v1/admin/maintenance',
        headers: adminHeaders,
        payload: { enabled },
      })
    assert.equal(json(await toggle(true)).maintenance, true)
    try {
      const before = await refused('MAINTENANCE')
      const answer = await rawUpgrade(live.port, '/cable?token=whatever', CABLE)
      assert.equal(assertRefusal(answer, 503), 'MAINTENANCE')
      assert.deepEqual(headerValues(answer, 'retry-after'), ['60'])
      assert.equal(await refused('MAINTENANCE'), before + 1)
    } finally {
      await toggle(false)
    }
  })
})

describe('/cable refusals through the gateway admission', () => {
  const registry = new Registry()
  const admission = standaloneAdmission(registry, {
    closing: () => false,
    accept: () => assert.fail('/cable completes its own handshakes'),
  })
  const refused = (code: string) =>
    registryMetric(registry, 'ovasabi_ws_upgrades_refused_total', `code="${code}"`)
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
    assert.equal(assertRefusal(answer, 503), 'SERVICE_UNAVAILABLE')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    assert.equal(await refused('SERVICE_UNAVAILABLE'), 1)
  })

  it('counts 503 SHUTTING_DOWN once close() began, with Retry-After', async () => {
    await node.closeCable()
    const answer = await rawUpgrade(port, '/cable?token=token-4', CABLE)
    assert.equal(assertRefusal(answer, 503), 'SHUTTING_DOWN')
    assert.deepEqual(headerValues(answer, 'retry-after'), ['5'])
    assert.equal(await refused('SHUTTING_DOWN'), 1)
  })
})
