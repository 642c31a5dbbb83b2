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

// With Redis up the nodes share the global per-client limit; while it is down each node counts on
// its own. The plugin's own Redis store with `skipOnError` left every request of an outage
// unlimited, after waiting out Redis' command timeout.
describe('the global limit while the shared Redis is down', {
  skip: !REDIS_URL && 'REDIS_URL not set',
}, () => {
  it('is shared while Redis answers, and held by each node while it does not', async () => {
    const proxy = await redisProxy(REDIS_URL!)
    const nodes: TestContext[] = []
    try {
      for (let i = 0; i < 2; i++)
        nodes.push(await buildTestApp({ env: { REDIS_URL: proxy.url, RATE_LIMIT_PER_MINUTE: '4' } }))
      const [a, b] = nodes as [TestContext, TestContext]
      // Fresh addresses, so neither part (nor an earlier run, in the shared Redis) counts for another.
      const octet = () => Math.floor(Math.random() * 250) + 1
      const sharedIp = `10.${octet()}.${octet()}.${octet()}`
      const aloneIp = `10.${octet()}.${octet()}.${octet()}`
      const get = (t: TestContext, ip: string) =>
        t.app
          .inject({ method: 'GET', url: '/docs/openapi.json', remoteAddress: ip })
          .then((r) => r.statusCode)

      // Shared: two requests on each node use up the client's four.
      const shared = [await get(a, sharedIp), await get(b, sharedIp)]
      shared.push(await get(a, sharedIp), await get(b, sharedIp), await get(a, sharedIp))
      assert.deepEqual(shared, [200, 200, 200, 200, 429])

      proxy.cut()
      for (const t of nodes) await until(() => t.app.platform.redis!.status !== 'ready', 'Redis gone')
      // Each node holds the limit on its own: four, then 429, on each.
      for (const t of nodes) {
        const codes: number[] = []
        for (let i = 0; i < 5; i++) codes.push(await get(t, aloneIp))
        assert.deepEqual(codes, [200, 200, 200, 200, 429])
      }
    } finally {
      proxy.cut()
      for (const t of nodes) await t.close().catch(() => {})
    }
  })
})
