import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildGraph } from '../../src/amadeus/graph.builder.js'
import { impactOf, resolveNode } from '../../src/amadeus/impact.js'
import { AppError } from '../../src/platform/http/errors.js'
import type { ModuleManifest } from '../../src/platform/module.js'
import { campaignLike, fixtureSources, quoteLike, realtimeLike } from './fixtures.js'

/** Quote also sends the webhook `lead.created` and the admins' campaign event of the same name. */
const quoteWithEvents: ModuleManifest = {
  ...quoteLike,
  dependencies: [...quoteLike.dependencies, 'auth'],
  events: [
    { name: 'lead.created', channel: 'ws', direction: 'emits' },
    { name: 'lead.created', channel: 'webhook', direction: 'emits' },
  ],
}
/** A consumer of the realtime module's `presence_update` frames. */
const presenceReader: ModuleManifest = {
  ...campaignLike,
  name: 'dashboard',
  dependencies: [],
  endpoints: [],
  tables: [],
  events: [{ name: 'presence_update', channel: 'ws', direction: 'consumes' }],
}
const graph = buildGraph(
  fixtureSources({
    modules: [campaignLike, realtimeLike, quoteWithEvents, presenceReader],
    healthChecks: ['database', 'redis'],
  }),
)

function refusal(fn: () => unknown): { status: number; code: string; message: string; details?: unknown } {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AppError, String(err))
    return { status: err.statusCode, code: err.code, message: err.message, details: err.details }
  }
  assert.fail('expected a refusal')
}

describe('naming a node for impact, node and diagram (qa29c)', () => {
  it('an event is found by the name it goes by on the wire (as ARCHITECTURE and the manifests name it)', () => {
    assert.equal(resolveNode(graph, 'referral.milestone').id, 'event:ws:referral.milestone')
    assert.equal(resolveNode(graph, 'presence_update').id, 'event:ws:presence_update')
    const impact = impactOf(graph, resolveNode(graph, 'presence_update').id).map((i) => i.node.id)
    assert.ok(impact.includes('module:dashboard'), impact.join(', '))
  })

  it('an action is found by its seed alias, as the action endpoint accepts it', () => {
    assert.equal(resolveNode(graph, 'submit_quote').id, 'action:quote.submit')
  })

  it('a name two channels share is ambiguous (400, both ids), not a guess', () => {
    const r = refusal(() => resolveNode(graph, 'lead.created'))
    assert.equal(r.status, 400)
    assert.equal(r.code, 'AMBIGUOUS_NODE')
    assert.deepEqual(r.details, { candidates: ['event:webhook:lead.created', 'event:ws:lead.created'] })
    // `ovasabi kg impact` prints the code and the message only: the ids to pick from are in it.
    assert.match(r.message, /event:webhook:lead\.created, event:ws:lead\.created/)
  })

  it('a bare id or label still wins over an event or alias of the same name', () => {
    // `auth` is the external (its bare id) even though a frame type could be called that too.
    const withAuthFrame = buildGraph(
      fixtureSources({
        modules: [
          campaignLike,
          { ...realtimeLike, events: [{ name: 'auth', channel: 'ws', direction: 'consumes' }] },
          quoteWithEvents,
        ],
      }),
    )
    assert.equal(resolveNode(withAuthFrame, 'auth').id, 'external:auth')
    assert.equal(resolveNode(graph, 'quote.submit').id, 'action:quote.submit')
    assert.equal(resolveNode(graph, 'redis').id, 'external:redis')
  })

  it('a name nothing has is still 404 NODE_NOT_FOUND', () => {
    const r = refusal(() => resolveNode(graph, 'kafka'))
    assert.equal(r.status, 404)
    assert.equal(r.code, 'NODE_NOT_FOUND')
  })
})
