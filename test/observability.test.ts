import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, guestToken, json, REDIS_URL, type TestContext } from './helper.js'
import { redisProxy } from './redis-proxy.js'
import { appWithLogCapture } from './log-capture.js'

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

describe('/metrics with METRICS_TOKEN', () => {
  it('answers the token as a bearer and refuses anything else', async () => {
    const token = 'scrape-token-0123456789'
    const t = await buildTestApp({ env: { METRICS_TOKEN: token } })
    try {
      const scrape = (authorization?: string) =>
        t.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} })
      const ok = await scrape(`Bearer ${token}`)
      assert.equal(ok.statusCode, 200)
      assert.match(ok.body, /ovasabi_/)
      for (const bad of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`]) {
        const res = await scrape(bad)
        assert.equal(res.statusCode, 401, String(bad))
        assert.doesNotMatch(res.body, /ovasabi_/)
      }
    } finally {
      await t.close()
    }
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

describe('what the public health and metrics endpoints reveal', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  it('counts unregistered action names as unknown, not one series each', async () => {
    const { token } = await guestToken(t.app)
    const post = (action: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/ovasabi_website/update',
        headers: { authorization: `Bearer ${token}` },
        payload: { action, data: {} },
      })
    for (let i = 0; i < 30; i++) assert.equal((await post(`zz_flood_${i}`)).statusCode, 400)
    // A dotted name is the analytics fallback's: counted under the fallback, not under itself.
    assert.equal((await post('x.flood_dotted')).statusCode, 200)
    // An alias is counted under its canonical name.
    await post('submit_quote')
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    const series = body.split('\n').filter((l) => l.startsWith('ovasabi_actions_total{'))
    assert.ok(!body.includes('flood'), series.join('\n'))
    assert.match(body, /ovasabi_actions_total\{action="unknown",outcome="UNKNOWN_ACTION"\} 30/)
    assert.ok(
      series.some((l) => l.includes('action="quote.submit"')),
      series.join('\n'),
    )
    assert.ok(!series.some((l) => l.includes('action="submit_quote"')), series.join('\n'))
  })

  it('says a dependency is down without its error, which names internal hosts', async () => {
    t.app.platform.health.register(
      'probe',
      async () => {
        throw new Error('connect ECONNREFUSED 10.9.8.7:5432 (user ovasabi_prod)')
      },
      { critical: false },
    )
    for (const url of ['/health', '/health/ready']) {
      const res = await t.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, 200)
      const body = json(res)
      assert.equal(body.status, 'degraded')
      assert.equal(body.dependencies.probe.status, 'down')
      assert.ok(!/10\.9\.8\.7|ovasabi_prod/.test(res.body), res.body)
    }
  })
})

describe('probes and scrapes under the rate limit', () => {
  it('are never limited: a balancer probing from one address is not told 429', async () => {
    const t = await buildTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } })
    try {
      for (let i = 0; i < 3; i++)
        for (const url of ['/health/live', '/health/ready', '/health', '/metrics']) {
          const res = await t.app.inject({ method: 'GET', url })
          assert.equal(res.statusCode, 200, `${url} #${i}: ${res.body.slice(0, 200)}`)
        }
      // Everything else is still limited.
      const codes: number[] = []
      for (let i = 0; i < 4; i++)
        codes.push((await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode)
      assert.deepEqual(codes, [200, 200, 200, 429])
    } finally {
      await t.close()
    }
  })
})

describe('health while Redis is unreachable', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('stays live, reports redis down without its address, and still serves metrics', async () => {
    // The app reaches Redis through a proxy the test can cut, as a network failure would.
    const proxy = await redisProxy(REDIS_URL!)
    const port = proxy.port
    const t = await buildTestApp({ env: { REDIS_URL: proxy.url } })
    try {
      assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
      // Redis goes away: open connections drop, new ones are refused.
      proxy.cut()

      const live = await t.app.inject({ method: 'GET', url: '/health/live' })
      assert.equal(live.statusCode, 200, live.body)
      // A shared Redis down is no reason to leave the balancer (see ops-qa2-readiness): 200, degraded.
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(ready.statusCode, 200, ready.body)
      assert.equal(json(ready).status, 'degraded')
      assert.equal(json(ready).dependencies.redis.status, 'down')
      assert.equal(json(ready).dependencies.database.status, 'up')
      assert.ok(!ready.body.includes(String(port)), ready.body)
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(metrics.statusCode, 200, metrics.body.slice(0, 300))
      // Other routes are not limited while the limiter cannot count: answered, not a 500.
      const session = await t.app.inject({ method: 'POST', url: '/api/session' })
      assert.equal(session.statusCode, 201, session.body)
    } finally {
      proxy.cut()
      await t.close().catch(() => {})
    }
  })
})

describe('requests while Redis keeps the connection but stops answering', {
  skip: !REDIS_URL && 'REDIS_URL not set',
}, () => {
  it('are answered (the limiter fails open) instead of waiting for good', async () => {
    const proxy = await redisProxy(REDIS_URL!)
    const t = await buildTestApp({ env: { REDIS_URL: proxy.url } })
    try {
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/session' })).statusCode, 201)
      proxy.stall()
      const session = await t.app.inject({ method: 'POST', url: '/api/session' })
      assert.equal(session.statusCode, 201, session.body)
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(ready.statusCode, 200, ready.body)
      assert.equal(json(ready).dependencies.redis.status, 'down')
    } finally {
      proxy.cut()
      await t.close().catch(() => {})
    }
  })
})

describe('request logs', () => {
  it('carry no credentials or personal data from the URL', async () => {
    const { app, lines } = appWithLogCapture()
    app.all('/*', async () => 'ok')
    try {
      // An editor searching leads by email or name; a socket URL with its token (twice); the
      // signed, single-use upload URL that `media.upload` hands out.
      await app.inject({ url: '/api/campaign/spring/leads?email=ada%40example.org&q=Lovelace&status=new' })
      await app.inject({ url: '/ws/spring/guest?since=4&token=tok.AAA&token=tok.BBB' })
      await app.inject({ method: 'PUT', url: '/media/upload/SIGNED.capability' })
    } finally {
      await app.close()
    }
    const log = JSON.stringify(lines)
    assert.match(log, /status=new/)
    assert.match(log, /since=4/)
    assert.match(log, /\/media\/upload\//)
    for (const secret of ['ada', 'Lovelace', 'tok.AAA', 'tok.BBB', 'SIGNED.capability'])
      assert.ok(!log.includes(secret), `${secret} in ${log}`)
  })
})
