// The `update_ack` of an action whose publish on the bus fails (Redis unreachable) is not lost
// without a trace: it is counted, logged (ids only), and written to the socket that sent the
// action when that socket is on this node.
import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import type { DispatchInput, Dispatcher } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { createMetrics, type Metrics } from '../src/platform/observability/metrics.js'
import type { OutboundFrame, RealtimePublisher } from '../src/realtime/publish.js'
import {
  assertIdsOnly,
  contentCreate,
  eventInput,
  standInDispatcher,
  type Warning,
} from './nexus-fixtures.js'
import { waitUntil } from './realtime/client.js'

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
  let warnings: Warning[]
  let dispatcher: Dispatcher

  beforeEach(() => {
    metrics = createMetrics()
    publisher = flakyPublisher()
    const registry = new ActionRegistry()
    registry.register(contentCreate(async () => ({ result: { created: true } })))
    ;({ dispatcher, warnings } = standInDispatcher({ registry, publisher, metrics }))
  })

  const failed = async (outcome: string) =>
    (await metrics.ackPublishesFailed.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0

  const input = (extra: Partial<DispatchInput> = {}) => eventInput('content.create', undefined, extra)

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
    assertIdsOnly(warnings[0])
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
