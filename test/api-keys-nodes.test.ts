import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { APIKEY_REVOKED_CHANNEL, createApiKeyService } from '../src/platform/auth/apikeys.js'
import type { EventBus } from '../src/platform/bus/bus.js'
import { createMemoryBus } from '../src/platform/bus/memory.js'
import { buildTestApp, json, REDIS_URL } from './helper.js'

/**
 * Resolves once `bus` has delivered the next revocation announcement to this node. Subscribed
 * after the node's own handler (its first key check subscribes it), so by then the node has
 * dropped its cache: the request that follows is answered from the database.
 */
async function nextRevocation(bus: EventBus, what: string): Promise<{ heard: Promise<unknown> }> {
  let done: (message: unknown) => void = () => {}
  const heard = new Promise((resolve) => {
    done = resolve
  })
  const stop = await bus.subscribe(APIKEY_REVOKED_CHANNEL, (message) => done(message))
  const deadline = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`no revocation announced for ${what}`)), 10_000).unref(),
  )
  return { heard: Promise.race([heard, deadline]).finally(() => stop()) }
}

describe('API key revocation between two services on one bus (memory)', () => {
  it('drops the key from the other service’s cache at once', async () => {
    const ctx = await buildTestApp()
    const bus = createMemoryBus()
    try {
      const { db } = ctx.app.platform.database
      const one = createApiKeyService({ db, bus })
      const two = createApiKeyService({ db, bus })
      const key = await one.create({ name: 'automation', role: 'editor' })
      assert.equal((await two.authenticate(key.key))?.roles[0], 'editor', 'cached by the second')
      const { heard } = await nextRevocation(bus, 'revoke')
      assert.equal(await one.revoke(key.id), true)
      assert.deepEqual(await heard, { ids: [key.id] })
      assert.equal(await two.authenticate(key.key), undefined)
      // Nothing announced for a key already revoked or unknown: nothing changed.
      const published: unknown[] = []
      const quiet = createApiKeyService({
        db,
        bus: { subscribe: bus.subscribe, publish: async (_c, m) => void published.push(m) },
      })
      assert.equal(await quiet.revoke(key.id), false)
      assert.equal(await quiet.revoke('nosuchkey'), false)
      assert.deepEqual(published, [])

      // A configured key replaced under its name (OVASABI_ADMIN_KEY changed) is revoked the same way.
      const first = await one.create({
        name: 'deploy',
        role: 'admin',
        key: `deploy-${randomBytes(16).toString('hex')}`,
      })
      assert.ok(await two.authenticate(first.key))
      const rotation = await nextRevocation(bus, 'rotation')
      await one.create({ name: 'deploy', role: 'admin', key: `deploy-${randomBytes(16).toString('hex')}` })
      assert.deepEqual(await rotation.heard, { ids: [first.id] })
      assert.equal(await two.authenticate(first.key), undefined)
    } finally {
      await bus.close()
      await ctx.close()
    }
  })
})

describe('API key revocation across two app nodes (PostgreSQL, Redis)', {
  skip: (!process.env.DATABASE_URL && 'DATABASE_URL not set') || (!REDIS_URL && 'REDIS_URL not set'),
}, () => {
  it('the other node refuses a revoked or rotated-out key with its very next request', async () => {
    const first = await buildTestApp({ dialect: 'postgres', redis: true })
    const second = await buildTestApp({ dialect: 'postgres', redis: true, databaseUrl: first.databaseUrl })
    try {
      const asKey = (app: FastifyInstance, key: string) =>
        app.inject({ method: 'GET', url: '/api/campaign', headers: { 'x-api-key': key } })
      const refused = async (app: FastifyInstance, key: string) => {
        const res = await asKey(app, key)
        assert.equal(res.statusCode, 401, res.body)
        assert.equal(json(res).error.code, 'INVALID_API_KEY')
      }

      const key = await first.app.platform.apiKeys.create({ name: 'automation', role: 'editor' })
      // Node 2 has checked it, and would trust that for 30 s.
      assert.equal((await asKey(second.app, key.key)).statusCode, 200)
      const { heard } = await nextRevocation(second.app.platform.bus, 'revoke')
      assert.equal(await first.app.platform.apiKeys.revoke(key.id), true)
      await refused(first.app, key.key)
      await heard
      await refused(second.app, key.key)

      // Rotation: a configured key replaced under its name stops on the other node too.
      const old = `deploy-old-${randomBytes(16).toString('hex')}`
      await first.app.platform.apiKeys.create({ name: 'deploy', role: 'admin', key: old })
      assert.equal((await asKey(second.app, old)).statusCode, 200)
      const rotation = await nextRevocation(second.app.platform.bus, 'rotation')
      const next = `deploy-new-${randomBytes(16).toString('hex')}`
      await first.app.platform.apiKeys.create({ name: 'deploy', role: 'admin', key: next })
      await rotation.heard
      await refused(second.app, old)
      assert.equal((await asKey(second.app, next)).statusCode, 200)
    } finally {
      await second.close()
      await first.close()
    }
  })
})
