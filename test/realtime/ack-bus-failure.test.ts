// When the bus does not take an `update_ack` (Redis unreachable), the socket that sent the action
// still gets it from the node it is connected to, and the failure shows in /metrics.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { EventBus } from '../../src/platform/bus/bus.js'
import { createPlatform, type Platform } from '../../src/platform/platform.js'
import { ADMIN_KEY, createCampaign, JWT_SECRET, REDIS_URL } from '../helper.js'
import { baseUrl, connect, metric, type TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

const failed = (app: FastifyInstance, outcome: string) =>
  metric(app, 'ovasabi_action_ack_publishes_failed_total', `outcome="${outcome}"`)

const action = (request_id: string) => ({
  type: 'campaign_event',
  event: 'content.view',
  payload: { page: '/' },
  request_id,
})

describe('update_ack when the bus publish fails (a bus that can be made to fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-ack-'))
  let platform: Platform
  let app: FastifyInstance
  let failing = false
  const clients: TestClient[] = []
  before(async () => {
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      OVASABI_ADMIN_KEY: ADMIN_KEY,
      JWT_SECRET,
      RATE_LIMIT_PER_MINUTE: '100000',
    })
    platform = await createPlatform(config, { memoryDatabase: true })
    const real = platform.bus
    const bus: EventBus = {
      kind: real.kind,
      publish: (channel, message) =>
        failing ? Promise.reject(new Error('Connection is closed.')) : real.publish(channel, message),
      subscribe: (channel, handler) => real.subscribe(channel, handler),
      close: () => real.close(),
    }
    app = await buildApp(config, { platform: { ...platform, bus }, logger: false })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of clients) c.close()
    await app.close()
    await platform.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes the ack to the sending socket and counts it; a REST ack is counted as undelivered', async () => {
    const slug = await createCampaign(app)
    const guest = await app.platform.tokens.issueGuest()
    const c = await connect(`${baseUrl(app)}/ws/${slug}/guest?token=${guest.token}`)
    clients.push(c)

    failing = true
    try {
      c.send(action('req_fallback_1'))
      const ack = await c.next((f) => f.type === 'update_ack' && f.request_id === 'req_fallback_1')
      assert.equal(ack.status, 'success')
      assert.equal(ack.result.recorded, true)
      assert.equal(await failed(app, 'delivered_locally'), 1)

      const rest = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { action: 'page.view', data: {}, request_id: 'req_fallback_rest' },
      })
      assert.equal(rest.statusCode, 200)
      await waitUntil(async () => (await failed(app, 'undelivered')) === 1, 10_000, 'the REST ack counted')
    } finally {
      failing = false
    }

    // The bus works again: the ack comes through it, once.
    c.send(action('req_fallback_2'))
    await c.next((f) => f.type === 'update_ack' && f.request_id === 'req_fallback_2')
    c.send({ type: 'ping' })
    await c.next((f) => f.type === 'pong')
    assert.equal(c.frames.filter((f) => f.request_id === 'req_fallback_2').length, 1)
    assert.equal(await failed(app, 'delivered_locally'), 1)
  })
})

describe('update_ack when Redis is unreachable', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  const live = realtimeSuite({ redis: true })

  it('still answers the socket that sent the action', async () => {
    const slug = await createCampaign(live.app)
    const c = await live.openGuest(slug)
    // The command connection goes (publishes fail at once); the socket and its node stay.
    live.app.platform.redis!.disconnect()
    c.send(action('req_redis_down'))
    const ack = await c.next((f) => f.type === 'update_ack' && f.request_id === 'req_redis_down')
    assert.equal(ack.status, 'success')
    assert.equal(await failed(live.app, 'delivered_locally'), 1)
  })
})
