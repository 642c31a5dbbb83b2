import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, json, REDIS_URL, type TestContext } from './helper.js'
import { redisProxy } from './redis-proxy.js'

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

// Readiness answers "should the balancer send this node requests?": only what this node cannot
// serve without (its database) or its own shutdown fails it. Redis is one for all nodes: a Redis
// blip that failed readiness took every node out of the balancer at once, while REST kept working.
describe('readiness while the shared Redis is down', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('keeps every node ready (200, degraded, redis down) and serving; the database and draining still fail it', async () => {
    const proxy = await redisProxy(REDIS_URL!)
    const nodes: TestContext[] = []
    try {
      for (let i = 0; i < 2; i++) nodes.push(await buildTestApp({ env: { REDIS_URL: proxy.url } }))
      for (const t of nodes) {
        const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
        assert.equal(ready.statusCode, 200, ready.body)
        assert.equal(json(ready).status, 'healthy')
        assert.equal(json(ready).dependencies.redis.status, 'up')
      }

      proxy.cut()
      for (const t of nodes) {
        // A client that lost its connection is down at once, not after a PING's command timeout
        // (2 s: longer than a probe's usual 1 s deadline, so the probe failed all the same).
        await until(() => t.app.platform.redis!.status !== 'ready', 'the client to see Redis gone')
        const checked = await t.app.platform.health.run()
        assert.match(checked.redis!.details ?? '', /^not connected/, JSON.stringify(checked.redis))

        const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
        assert.equal(ready.statusCode, 200, `a shared Redis down took the node out: ${ready.body}`)
        const body = json(ready)
        assert.equal(body.status, 'degraded')
        assert.equal(body.dependencies.redis.status, 'down')
        assert.equal(body.dependencies.redis.critical, false)
        assert.equal(body.dependencies.database.status, 'up')
        // The detailed report says the same: Redis down, the node serving.
        const health = await t.app.inject({ method: 'GET', url: '/health' })
        assert.equal(health.statusCode, 200, health.body)
        assert.equal(json(health).status, 'degraded')
        assert.equal(json(health).dependencies.redis.status, 'down')
        // And it does serve: REST answers without Redis.
        const session = await t.app.inject({ method: 'POST', url: '/api/session' })
        assert.equal(session.statusCode, 201, session.body)
      }

      // What is this node's own still fails its readiness, and only its: draining...
      nodes[0]!.app.draining = true
      const draining = await nodes[0]!.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(draining.statusCode, 503, draining.body)
      assert.equal(json(draining).status, 'unhealthy')
      assert.equal((await nodes[1]!.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
      nodes[0]!.app.draining = false

      // ...and its database unreachable.
      await nodes[1]!.app.platform.database.close()
      const noDatabase = await nodes[1]!.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(noDatabase.statusCode, 503, noDatabase.body)
      assert.equal(json(noDatabase).status, 'unhealthy')
      assert.equal(json(noDatabase).dependencies.database.status, 'down')
      assert.equal((await nodes[0]!.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
    } finally {
      proxy.cut()
      for (const t of nodes) await t.close().catch(() => {})
    }
  })
})
