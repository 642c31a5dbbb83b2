// `ctx.recorded` tells an action whether its answer is kept for retries: only under an id the
// client sent (body `request_id`, `Idempotency-Key`, `X-Request-Id`), never under the server's.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { DispatchInput } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { createMetrics } from '../src/platform/observability/metrics.js'
import { contentCreate, eventInput, standInDispatcher } from './nexus-fixtures.js'

describe('ActionContext.recorded', () => {
  const seen: boolean[] = []
  const registry = new ActionRegistry()
  registry.register(
    contentCreate(async (ctx) => {
      seen.push(ctx.recorded)
      return { result: { created: true } }
    }),
  )
  const { dispatcher } = standInDispatcher({
    registry,
    publisher: { publish: async () => {} },
    metrics: createMetrics(),
  })

  /** `content.create` without the body's request id, plus `extra`; what the handler saw. */
  async function recorded(extra: Partial<DispatchInput>, keepBodyId = false): Promise<boolean> {
    const input = eventInput('content.create')
    const body = keepBodyId ? input.body : { ...input.body, request_id: undefined }
    const outcome = await dispatcher.dispatch({ ...input, body, ...extra })
    assert.equal(outcome.status_code, 200)
    return seen.at(-1)!
  }

  it('is true under the client’s request id, Idempotency-Key or X-Request-Id', async () => {
    assert.equal(await recorded({}, true), true)
    assert.equal(await recorded({ idempotencyKey: 'key-1' }), true)
    assert.equal(await recorded({ fallbackRequestId: 'x-request-1' }), true)
  })

  it('is false when the request id is the server’s own', async () => {
    assert.equal(await recorded({ serverRequestId: 'req-made-here' }), false)
    assert.equal(await recorded({}), false)
  })
})
