import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Type } from 'typebox'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { buildGraph, structureHash } from '../../src/amadeus/graph.builder.js'
import { focusGraph, impactOf, resolveNode } from '../../src/amadeus/impact.js'
import { renderMermaid } from '../../src/amadeus/mermaid.js'
import { validateDeclarations } from '../../src/amadeus/validate.js'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import type { ModuleManifest } from '../../src/platform/module.js'
import { campaignLike, fixtureSources, quoteLike, realtimeLike } from './fixtures.js'

describe('graph builder (fixture manifests)', () => {
  const graph = buildGraph(fixtureSources())
  const ids = new Set(graph.nodes.map((n) => n.id))

  it('has a node for each declaration and only declared edges', () => {
    for (const id of [
      'module:realtime',
      'module:quote',
      'endpoint:POST /api/quote',
      'action:quote.submit',
      'event:ws:presence_update',
      'event:ws:cursor',
      'table:service_quote_main',
      'feature:presence',
      'campaign:spring',
      'external:redis',
      'external:webhooks',
      'external:database',
    ])
      assert.ok(ids.has(id), `missing ${id}`)
    const quote = graph.nodes.find((n) => n.id === 'action:quote.submit')!
    assert.deepEqual(quote.data.aliases, ['submit_quote'])
    assert.equal(graph.nodes.find((n) => n.id === 'external:database')!.label, 'PostgreSQL')
    const has = (from: string, type: string, to: string) =>
      graph.edges.some((e) => e.from === from && e.type === type && e.to === to)
    assert.ok(has('module:realtime', 'depends_on', 'external:redis'))
    assert.ok(has('module:realtime', 'depends_on', 'module:campaign'))
    assert.ok(has('module:quote', 'handles', 'action:quote.submit'))
    assert.ok(has('action:quote.submit', 'enabled_by', 'feature:quote'))
    assert.ok(has('module:realtime', 'consumes', 'event:ws:cursor'))
    assert.ok(has('module:quote', 'stores_in', 'table:service_quote_main'))
    assert.ok(has('campaign:spring', 'uses', 'feature:presence'))
    assert.ok(
      has('external:bus', 'depends_on', 'external:redis'),
      'the Redis bus is declared by the platform',
    )
    // Not declared anywhere: no storage node, no edge from campaigns to modules.
    assert.ok(!ids.has('external:storage'))
    assert.ok(!graph.edges.some((e) => e.from.startsWith('campaign:') && e.type !== 'uses'))
  })

  it('uses PGlite and an in-memory bus when that is what runs', () => {
    const g = buildGraph(fixtureSources({ platform: { dialect: 'pglite', redis: false } }))
    assert.match(g.nodes.find((n) => n.id === 'external:database')!.label, /PGlite/)
    assert.ok(!g.edges.some((e) => e.from === 'external:bus' && e.to === 'external:redis'))
  })

  it('answers "what breaks if Redis goes down", with paths', () => {
    const impacted = impactOf(graph, 'external:redis')
    const byId = new Map(impacted.map((i) => [i.node.id, i]))
    for (const id of [
      'external:bus',
      'external:ratelimit',
      'module:realtime',
      'module:campaign',
      'feature:presence',
    ])
      assert.ok(byId.has(id), `redis should impact ${id}`)
    const spring = byId.get('campaign:spring')
    assert.ok(spring, 'the campaign using presence is impacted')
    assert.deepEqual(
      spring.path.map((e) => e.type),
      ['depends_on', 'enabled_by', 'uses'],
      'redis <- realtime -> presence <- spring',
    )
    assert.ok(!byId.has('campaign:quiet'), 'a campaign using only analytics is not')
    assert.ok(!byId.has('module:quote'), 'quote does not rely on redis')
  })

  it('impact of the database reaches the quote endpoint through its module', () => {
    const entry = impactOf(graph, 'external:database').find((i) => i.node.id === 'endpoint:POST /api/quote')
    assert.ok(entry)
    assert.deepEqual(
      entry.path.map((e) => [e.from, e.type, e.to]),
      [
        ['module:quote', 'depends_on', 'external:database'],
        ['module:quote', 'exposes', 'endpoint:POST /api/quote'],
      ],
    )
  })

  it('resolves bare names and refuses ambiguous or unknown ones', () => {
    assert.equal(resolveNode(graph, 'redis').id, 'external:redis')
    assert.equal(resolveNode(graph, 'quote.submit').id, 'action:quote.submit')
    assert.throws(() => resolveNode(graph, 'nope'), { code: 'NODE_NOT_FOUND' })
    // `quote` is both a module and a feature.
    assert.throws(() => resolveNode(graph, 'quote'), { code: 'AMBIGUOUS_NODE' })
  })

  it('hashes structure only, stably', () => {
    const again = buildGraph(fixtureSources({ modules: [quoteLike, realtimeLike, campaignLike] }))
    assert.equal(structureHash(again), structureHash(graph), 'order of registration does not matter')
    const changed = buildGraph(
      fixtureSources({
        campaigns: [
          { slug: 'spring', features: ['presence'] },
          { slug: 'quiet', features: [] },
        ],
      }),
    )
    assert.notEqual(structureHash(changed), structureHash(graph))
  })

  it('renders Mermaid, focused within a depth', () => {
    const full = renderMermaid(graph)
    assert.match(full, /^flowchart LR\n/)
    assert.match(full, /-->\|depends_on\|/)
    const focused = focusGraph(graph, 'external:redis', 1)
    const ids = focused.nodes.map((n) => n.id).sort()
    assert.ok(ids.includes('module:realtime') && ids.includes('external:bus'))
    assert.ok(!ids.includes('campaign:spring'), 'two hops away')
    const text = renderMermaid(focused, { focus: 'external:redis' })
    assert.match(text, /class n\d+ focus/)
    assert.ok(!text.includes('"/api'), 'labels never break out of their quotes')
  })
})

describe('validation', () => {
  const base = {
    actions: fixtureSources().actions,
    features: FEATURES,
    eventSchemas: createEventSchemaRegistry(),
    tables: new Set(['service_campaign_main', 'service_quote_main']),
  }

  it('accepts consistent declarations', () => {
    const problems = validateDeclarations({ ...base, modules: [campaignLike, realtimeLike, quoteLike] })
    assert.deepEqual(problems, [])
  })

  it('catches a deliberately broken manifest', () => {
    const broken: ModuleManifest = {
      ...quoteLike,
      name: 'broken',
      dependencies: ['database', 'kafka', 'payments'],
      endpoints: [{ method: 'POST', path: '/api/quote', auth: 'session' }],
      actions: ['broken.do'],
      events: [{ name: 'broken_event', channel: 'ws', direction: 'emits' }],
      tables: ['service_broken_main'],
      features: ['teleport'],
    }
    const problems = validateDeclarations({
      ...base,
      modules: [campaignLike, realtimeLike, quoteLike, broken],
      actions: [
        ...base.actions,
        {
          name: 'orphan.act',
          feature: 'warp',
          role: 'guest',
          description: '',
          writes: 'deferred',
        },
      ],
      hasRoute: (method, path) => !(method === 'POST' && path === '/api/quote'),
    })
    const codes = problems.map((p) => `${p.code} ${p.subject}`).sort()
    assert.deepEqual(codes, [
      'DUPLICATE_ENDPOINT module:broken',
      'MISSING_EVENT_SCHEMA module:broken',
      'MISSING_ROUTE module:broken',
      'MISSING_ROUTE module:quote',
      'MISSING_TABLE module:broken',
      'UNDECLARED_ACTION action:orphan.act',
      'UNKNOWN_DEPENDENCY module:broken',
      'UNKNOWN_DEPENDENCY module:broken',
      'UNKNOWN_FEATURE action:orphan.act',
      'UNKNOWN_FEATURE module:broken',
      'UNREGISTERED_ACTION module:broken',
    ])
    assert.ok(problems.some((p) => p.message.includes('"kafka"')))
  })

  it('an event schema registered in one line satisfies validation', () => {
    const schemas = createEventSchemaRegistry()
    const module: ModuleManifest = {
      ...campaignLike,
      name: 'media',
      events: [{ name: 'media.ready', channel: 'webhook', direction: 'emits' }],
    }
    const before = validateDeclarations({ ...base, actions: [], eventSchemas: schemas, modules: [module] })
    assert.deepEqual(
      before.map((p) => p.code),
      ['MISSING_EVENT_SCHEMA'],
    )
    schemas.register({ channel: 'webhook', name: 'media.ready', direction: 'send', schema: Type.Object({}) })
    assert.deepEqual(
      validateDeclarations({ ...base, actions: [], eventSchemas: schemas, modules: [module] }),
      [],
    )
  })
})
