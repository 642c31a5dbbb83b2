import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  REDIS_URL,
  type TestContext,
} from '../helper.js'

for (const dialect of DIALECTS) {
  describe(`amadeus routes (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const get = (url: string, headers: Record<string, string> = adminHeaders) =>
      t.app.inject({ method: 'GET', url, headers })

    it('builds the graph from the registered manifests, not a fixed list', async () => {
      const res = await get('/api/amadeus/graph')
      assert.equal(res.statusCode, 200)
      const g = json(res)
      const ids = new Set(g.nodes.map((n: any) => n.id))
      for (const m of t.app.modules.list()) {
        assert.ok(ids.has(`module:${m.name}`), m.name)
        for (const e of m.endpoints) assert.ok(ids.has(`endpoint:${e.method} ${e.path}`))
        for (const table of m.tables) assert.ok(ids.has(`table:${table}`))
      }
      assert.equal(g.nodes.filter((n: any) => n.type === 'module').length, t.app.modules.list().length)
      assert.ok(ids.has(`campaign:${t.config.DEFAULT_CAMPAIGN}`))
      assert.ok(ids.has('action:analytics.track'), 'the analytics fallback action from the registry')
      const db = g.nodes.find((n: any) => n.id === 'external:database')
      assert.equal(db.label, dialect === 'postgres' ? 'PostgreSQL' : 'PGlite (embedded)')
      assert.equal(db.runtime.health.status, 'up')
      assert.match(g.hash, /^[0-9a-f]{64}$/)
    })

    it('filters by node type and refuses an unknown one', async () => {
      const g = json(await get('/api/amadeus/graph?type=table'))
      assert.ok(g.nodes.length > 0)
      assert.ok(g.nodes.every((n: any) => n.type === 'table'))
      assert.ok(g.edges.every((e: any) => e.type === 'stores_in'))
      const bad = await get('/api/amadeus/graph?type=planet')
      assert.equal(bad.statusCode, 400)
      assert.equal(json(bad).error.code, 'VALIDATION_FAILED')
    })

    it('is for admins only', async () => {
      assert.equal((await t.app.inject({ url: '/api/amadeus/graph' })).statusCode, 401)
      const { token } = await guestToken(t.app)
      const res = await get('/api/amadeus/impact?node=redis', { authorization: `Bearer ${token}` })
      assert.equal(res.statusCode, 403)
    })

    it('counts requests and errors per endpoint and action from the metrics', async () => {
      const slug = await createCampaign(t.app, { features: ['analytics'] })
      for (let i = 0; i < 3; i++) await get(`/api/campaign/${slug}`)
      await get('/api/campaign/does_not_exist_zz')
      const { token } = await guestToken(t.app)
      const act = await t.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: { action: 'content.view', data: {} },
      })
      assert.equal(act.statusCode, 200, act.body)
      const node = json(
        await get(`/api/amadeus/node/${encodeURIComponent('endpoint:GET /api/campaign/:slug')}`),
      )
      assert.equal(node.node.runtime.traffic.requests, 4)
      assert.equal(node.node.runtime.traffic.client_errors, 1)
      assert.equal(node.node.runtime.traffic.errors, 0)
      assert.deepEqual(
        node.incoming.map((e: any) => [e.from, e.type]),
        [['module:campaign', 'exposes']],
      )
      const action = json(await get('/api/amadeus/node/action:analytics.track'))
      assert.ok(action.node.runtime.traffic.requests >= 1)
      assert.ok(action.node.runtime.traffic.outcomes.ok >= 1)
    })

    it('answers impact for database → campaign → nexus endpoint', async () => {
      const res = await get('/api/amadeus/impact?node=database')
      assert.equal(res.statusCode, 200)
      const body = json(res)
      assert.equal(body.node.id, 'external:database')
      const ep = body.impacted.find((i: any) => i.node.id === 'endpoint:POST /api/:campaign/update')
      assert.ok(ep, 'the action endpoint relies on the database')
      assert.equal(ep.path.at(-1).type, 'exposes')
      assert.equal(ep.path.at(-1).from, 'module:nexus')
      const viaCampaign = body.impacted.find((i: any) => i.node.id === 'module:campaign')
      assert.deepEqual(
        viaCampaign.path.map((e: any) => e.type),
        ['depends_on'],
      )
      assert.ok(body.impacted.some((i: any) => i.node.id === `campaign:${t.config.DEFAULT_CAMPAIGN}`))
      const missing = await get('/api/amadeus/impact?node=kafka')
      assert.equal(missing.statusCode, 404)
      assert.equal(json(missing).error.code, 'NODE_NOT_FOUND')
    })

    it('serves a Mermaid diagram, focused and whole', async () => {
      const res = await get('/api/amadeus/diagram.mmd?focus=module:campaign&depth=1')
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /text\/vnd\.mermaid/)
      assert.match(res.body, /^flowchart LR\n/)
      assert.match(res.body, /"campaign"/)
      assert.match(res.body, /"service_campaign_main"/)
      assert.ok(!res.body.includes('/api/amadeus/graph'), 'amadeus endpoints are two hops away')
      const whole = await get('/api/amadeus/diagram.mmd')
      assert.ok(whole.body.includes('GET /api/amadeus/graph'))
      assert.equal((await get('/api/amadeus/diagram.mmd?depth=99')).statusCode, 400)
    })
  })
}

describe('amadeus with Redis', { skip: !REDIS_URL }, () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp({ redis: true })
  })
  after(() => t.close())

  it('Redis down reaches the bus, rate limits, the campaign module and campaigns', async () => {
    const body = json(await t.app.inject({ url: '/api/amadeus/impact?node=redis', headers: adminHeaders }))
    const ids = new Set(body.impacted.map((i: any) => i.node.id))
    for (const id of ['external:bus', 'external:ratelimit', 'module:campaign', 'module:nexus'])
      assert.ok(ids.has(id), id)
    assert.ok(ids.has(`campaign:${t.config.DEFAULT_CAMPAIGN}`))
    const redis = json(await t.app.inject({ url: '/api/amadeus/node/redis', headers: adminHeaders }))
    assert.equal(redis.node.runtime.health.status, 'up')
  })
})
