// The `update_ack` of an action whose publish on the bus fails (Redis unreachable) is not lost
// without a trace: it is counted, logged (ids only), and written to the socket that sent the
// action when that socket is on this node.
import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { Type } from 'typebox'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { CommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher, type DispatchInput } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import type { Principal } from '../src/platform/auth/principal.js'
import type { Db } from '../src/platform/db/database.js'
import { createMetrics, type Metrics } from '../src/platform/observability/metrics.js'
import type { OutboundFrame, RealtimePublisher } from '../src/realtime/publish.js'
import { waitUntil } from './realtime/client.js'

const campaign = {
  id: 1,
  slug: 'spring',
  title: 'Spring',
  description: '',
  draft: false,
  metadata: { features: ['analytics'] },
  version: 1,
  created_by: 'system',
  created_at: new Date(),
  updated_at: new Date(),
  archived_at: null,
} as unknown as Campaign

const principal: Principal = {
  kind: 'user',
  user_id: 'user_secret_1',
  session_id: 'sess_secret_1',
  roles: ['participant'],
}

/** A publisher in front of a bus that can be made to fail, as Redis does when it is unreachable. */
function flakyPublisher() {
  const published: OutboundFrame[] = []
  return {
    failing: false,
    published,
    async publish(_audience, frame) {
      if (this.failing) throw new Error('Connection is closed.')
      published.push(frame)
    },
  } satisfies RealtimePublisher & Record<string, unknown>
}

describe('update_ack whose publish fails', () => {
  let metrics: Metrics
  let publisher: ReturnType<typeof flakyPublisher>
  let warnings: Array<{ fields: Record<string, unknown>; message: string }>
  let dispatcher: ReturnType<typeof createDispatcher>
  let n = 0

  beforeEach(() => {
    metrics = createMetrics()
    publisher = flakyPublisher()
    warnings = []
    const registry = new ActionRegistry()
    // Deferred writes: the commit log (a stand-in here) records everything, no database needed.
    registry.register({
      name: 'content.create',
      description: 'test action',
      payload: Type.Object({ email: Type.Optional(Type.String()) }),
      role: 'participant',
      feature: 'analytics',
      writes: 'deferred',
      handler: async () => ({ result: { created: true } }),
    })
    const commitLog: CommitLog = { commit: async () => ({ duplicate: false }), flush: async () => {} }
    dispatcher = createDispatcher({
      db: {} as Db,
      registry,
      campaigns: { get: async () => campaign },
      commitLog,
      publisher,
      metrics,
      config: { VERSION: 'test', ENVIRONMENT: 'test' },
      log: {
        warn: ((fields: Record<string, unknown>, message: string) =>
          void warnings.push({ fields, message })) as never,
      },
    })
  })

  const failed = async (outcome: string) =>
    (await metrics.ackPublishesFailed.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0

  const input = (extra: Partial<DispatchInput> = {}): DispatchInput => ({
    campaignSlug: 'spring',
    body: {
      type: 'campaign_event',
      event: 'content.create',
      payload: { email: 'someone@example.com' },
      request_id: `req_${++n}`,
    },
    principal,
    ip: '127.0.0.1',
    ...extra,
  })

  it('writes the ack to the sending socket on this node, counts and logs the failed publish', async () => {
    publisher.failing = true
    const local: OutboundFrame[] = []
    const outcome = await dispatcher.dispatch(input({ ackLocally: (frame) => local.push(frame) > 0 }))
    assert.equal(outcome.status_code, 200)
    await waitUntil(async () => (await failed('delivered_locally')) === 1, 10_000, 'the failure counted')
    assert.equal(local.length, 1)
    assert.equal(local[0]!.type, 'update_ack')
    assert.equal(local[0]!.request_id, outcome.request_id)
    assert.equal(local[0]!.status, 'success')
    assert.deepEqual(local[0]!.result, { created: true })
    assert.equal(await failed('undelivered'), 0)

    assert.equal(warnings.length, 1)
    const { fields } = warnings[0]!
    assert.equal(fields.campaign, 'spring')
    assert.equal(fields.action, 'content.create')
    assert.equal(fields.request_id, outcome.request_id)
    assert.equal(fields.delivered_locally, true)
    assert.ok(fields.err instanceof Error)
    // Ids only: nothing about the person (user, session, payload) goes to the log.
    const logged = JSON.stringify(warnings[0])
    for (const secret of ['user_secret_1', 'sess_secret_1', 'someone@example.com'])
      assert.ok(!logged.includes(secret), `${secret} logged`)
  })

  it('counts and logs an ack no socket of this node sent (REST), or whose socket closed', async () => {
    publisher.failing = true
    const rest = await dispatcher.dispatch(input())
    await waitUntil(async () => (await failed('undelivered')) === 1, 10_000, 'the REST ack counted')
    assert.equal(warnings[0]?.fields.request_id, rest.request_id)
    assert.equal(warnings[0]?.fields.delivered_locally, false)

    await dispatcher.dispatch(input({ ackLocally: () => false }))
    await waitUntil(async () => (await failed('undelivered')) === 2, 10_000, 'the closed socket counted')
    assert.equal(await failed('delivered_locally'), 0)
  })

  it('leaves a published ack to the bus: no second copy, nothing counted', async () => {
    const local: OutboundFrame[] = []
    const outcome = await dispatcher.dispatch(input({ ackLocally: (frame) => local.push(frame) > 0 }))
    await waitUntil(() => publisher.published.length === 1, 10_000, 'the ack published')
    assert.equal(publisher.published[0]!.request_id, outcome.request_id)
    assert.equal(local.length, 0)
    assert.equal(await failed('delivered_locally'), 0)
    assert.equal(await failed('undelivered'), 0)
    assert.equal(warnings.length, 0)
  })
})
