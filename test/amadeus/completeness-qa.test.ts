import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { validateDeclarations } from '../../src/amadeus/validate.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import type { ModuleManifest } from '../../src/platform/module.js'
import { campaignLike, quoteLike, realtimeLike } from './fixtures.js'

const base = {
  actions: [
    {
      name: 'quote.submit',
      feature: 'quote',
      role: 'guest',
      description: 'Submit a lead',
      writes: 'deferred',
    },
  ],
  features: FEATURES,
  eventSchemas: createEventSchemaRegistry(),
  tables: new Set(['service_campaign_main', 'service_quote_main']),
}

describe('amadeus validation: every served route and both ends of every bus channel', () => {
  it('reports a served route no manifest declares; a HEAD beside its GET and the CORS preflight need none', () => {
    const problems = validateDeclarations({
      ...base,
      modules: [campaignLike, realtimeLike, quoteLike],
      servedRoutes: [
        { method: 'GET', url: '/api/campaign/:slug' },
        { method: 'HEAD', url: '/api/campaign/:slug' },
        { method: 'POST', url: '/api/quote' },
        { method: 'GET', url: '/health/ready' },
        { method: 'HEAD', url: '/health/ready' },
        { method: 'OPTIONS', url: '*' },
        { method: 'HEAD', url: '/orphan-head' },
      ],
    })
    assert.deepEqual(
      problems.map((p) => [p.code, p.subject]),
      [
        ['UNDECLARED_ROUTE', 'endpoint:GET /health/ready'],
        ['UNDECLARED_ROUTE', 'endpoint:HEAD /orphan-head'],
      ],
    )
    assert.match(problems[0]!.message, /serves GET \/health\/ready, but no module manifest declares it/)
  })

  it('reports a bus channel published with no declared subscriber, and one consumed with no declared publisher', () => {
    const bus = (name: string, direction: 'emits' | 'consumes') => ({
      name,
      channel: 'bus' as const,
      direction,
    })
    const talker: ModuleManifest = {
      ...campaignLike,
      events: [bus('ovasabi:both', 'emits'), bus('ovasabi:said', 'emits')],
    }
    const listener: ModuleManifest = {
      ...quoteLike,
      events: [bus('ovasabi:both', 'consumes'), bus('ovasabi:heard', 'consumes')],
    }
    const schemas = createEventSchemaRegistry()
    for (const name of ['ovasabi:both', 'ovasabi:said'])
      schemas.register({ channel: 'bus', name, direction: 'send', schema: {} as never })
    const problems = validateDeclarations({ ...base, eventSchemas: schemas, modules: [talker, listener] })
    assert.deepEqual(
      problems.map((p) => [p.code, p.subject]),
      [
        ['UNCONSUMED_CHANNEL', 'event:bus:ovasabi:said'],
        ['UNPUBLISHED_CHANNEL', 'event:bus:ovasabi:heard'],
      ],
    )
  })
})

describe('amadeus on the real app: the graph holds every route it serves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kgqa-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  async function withApp(
    env: Record<string, string>,
    fn: (app: FastifyInstance) => Promise<void>,
    beforeReady?: (app: FastifyInstance) => void,
  ): Promise<void> {
    const config = loadConfig({ DATA_DIR: join(dir, String(n++)), LOG_LEVEL: 'silent', ...env })
    const app = await buildApp(config, { memoryDatabase: true, logger: false })
    try {
      beforeReady?.(app)
      await app.ready()
      await fn(app)
    } finally {
      await app.close()
    }
  }

  it('validates clean, with the probes, metrics, docs, favicon and /cable in the graph; impact of the database names the readiness probe', async () => {
    await withApp({}, async (app) => {
      assert.deepEqual(await app.amadeus.validate(), [])
      const ids = new Set((await app.amadeus.graph()).nodes.map((node) => node.id))
      for (const id of [
        'endpoint:GET /health',
        'endpoint:GET /health/live',
        'endpoint:GET /health/ready',
        'endpoint:GET /metrics',
        'endpoint:GET /docs',
        'endpoint:GET /docs/json',
        'endpoint:GET /docs/static/*',
        'endpoint:GET /docs/openapi.json',
        'endpoint:GET /favicon.svg',
        'endpoint:GET /cable',
        'event:bus:ovasabi:apikey:revoked',
      ])
        assert.ok(ids.has(id), id)
      const { impacted } = await app.amadeus.impact('database')
      const names = impacted.map((i) => i.node.id)
      assert.ok(!names.includes('endpoint:GET /health/live'), 'liveness checks no dependency')
      const ready = impacted.find((i) => i.node.id === 'endpoint:GET /health/ready')
      assert.ok(ready, 'GET /health/ready turns 503 when the database is down')
      assert.deepEqual(
        ready.path.map((e) => [e.from, e.type, e.to]),
        [
          ['module:health', 'depends_on', 'external:database'],
          ['module:health', 'exposes', 'endpoint:GET /health/ready'],
        ],
      )
    })
  })

  it('a route added without a manifest fails validation; with CORS on, the preflight does not', async () => {
    await withApp(
      { CORS_ORIGINS: 'https://crm.example' },
      async (app) => {
        const problems = await app.amadeus.validate()
        assert.deepEqual(
          problems.map((p) => [p.code, p.subject]),
          [['UNDECLARED_ROUTE', 'endpoint:GET /api/undeclared']],
        )
      },
      (app) => {
        app.get('/api/undeclared', async () => ({ ok: true }))
      },
    )
  })
})
