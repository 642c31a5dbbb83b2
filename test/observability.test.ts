import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, json, type TestContext } from './helper.js'

describe('health, metrics, docs, request ids', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  it('reports each dependency on /health and /health/ready', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' })
    assert.equal(res.statusCode, 200)
    const body = json(res)
    assert.equal(body.status, 'healthy')
    assert.equal(body.version, t.config.VERSION)
    assert.ok(Date.parse(body.timestamp))
    assert.equal(body.dependencies.database.status, 'up')
    assert.equal(body.dependencies.redis.status, 'disabled')
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    assert.equal((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
  })

  it('exposes Prometheus metrics: durations, event-loop lag, pool', async () => {
    await t.app.inject({ method: 'GET', url: '/health' })
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'] as string, /text\/plain/)
    assert.match(
      res.body,
      /ovasabi_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/,
    )
    assert.match(res.body, /nodejs_eventloop_lag_p99_seconds/)
    assert.match(res.body, /ovasabi_db_pool_connections\{state="total"\} 1/)
  })

  it('generates OpenAPI with an operationId on every documented route', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })
    assert.equal(res.statusCode, 200)
    const doc = json(res)
    assert.equal(doc.openapi.startsWith('3.'), true)
    const ops = Object.values(doc.paths as Record<string, Record<string, any>>).flatMap((p) =>
      Object.values(p),
    )
    assert.ok(ops.length >= 10)
    for (const op of ops) assert.ok(op.operationId, JSON.stringify(op).slice(0, 120))
    assert.ok(doc.paths['/api/{campaign}/update'].post)
    const ui = await t.app.inject({ method: 'GET', url: '/docs' })
    assert.ok([200, 302].includes(ui.statusCode))
  })

  it('echoes a sane X-Request-Id and replaces a bad one', async () => {
    const given = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'abc-123' },
    })
    assert.equal(given.headers['x-request-id'], 'abc-123')
    const bad = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': '<script>' },
    })
    assert.match(bad.headers['x-request-id'] as string, /^[0-9A-Z]{26}$/)
  })

  it('sends security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' })
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.match(res.headers['content-security-policy'] as string, /default-src 'self'/)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nothing/here/at/all' })
    assert.equal(res.statusCode, 404)
    assert.equal(json(res).error.code, 'ROUTE_NOT_FOUND')
  })
})

describe('readiness when the database is unreachable', () => {
  it('answers 503 with the database down', async () => {
    const t = await buildTestApp()
    try {
      await t.app.platform.database.close()
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(res.statusCode, 503)
      const body = json(res)
      assert.equal(body.status, 'unhealthy')
      assert.equal(body.dependencies.database.status, 'down')
      assert.equal((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    } finally {
      await t.close().catch(() => {})
    }
  })
})
