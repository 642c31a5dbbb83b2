// The repeat of a request_id whose first run is still going on (on another node, here a second
// dispatcher on the same database, held in its handler) is refused 409 `REQUEST_IN_PROGRESS` once
// the server has waited for it. The refusal says when to come back (`Retry-After`, an error ack's
// `retry_after_ms`), and the SDK sends the same request_id again then, so the call resolves with
// the first run's committed answer instead of failing for an action that did commit.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Type } from 'typebox'
import WebSocket from 'ws'
import { createCommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { createMetrics } from '../src/platform/observability/metrics.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import { spring } from '../test/nexus-fixtures.js'
import { IN_PROGRESS_RETRY, inProgressWait } from './in-progress.js'
import {
  createClient,
  type FetchLike,
  OvasabiError,
  type UpdateAckFrame,
  type WebSocketCtor,
} from './index.js'
import { until } from './test-helpers.js'
import { ulid } from './ulid.js'

const EVENT = 'qa25.held'

/**
 * "Another node": a dispatcher of its own (its own in-flight map) on the app's database, whose
 * action `EVENT` claims its request_id and then waits in its handler for `release(request_id)`.
 */
function otherNode(ctx: TestContext) {
  const gates = new Map<
    string,
    { entered: () => void; inHandler: Promise<void>; open: () => void; gate: Promise<void> }
  >()
  const gateOf = (id: string) => {
    let g = gates.get(id)
    if (!g) {
      let entered!: () => void
      let open!: () => void
      const inHandler = new Promise<void>((r) => {
        entered = r
      })
      const gate = new Promise<void>((r) => {
        open = r
      })
      g = { entered, inHandler, open, gate }
      gates.set(id, g)
    }
    return g
  }
  const registry = new ActionRegistry()
  registry.register({
    name: EVENT,
    description: 'held in its handler until released',
    payload: Type.Unknown(),
    role: 'guest',
    feature: 'analytics',
    writes: 'immediate',
    handler: async (actx) => {
      const g = gateOf(actx.envelope.request_id)
      g.entered()
      await g.gate
      return { result: { ran_on: 'first node', request_id: actx.envelope.request_id } }
    },
  })
  const db = ctx.app.platform.database.db
  const dispatcher = createDispatcher({
    db,
    registry,
    campaigns: { get: async (slug: string) => ({ ...spring, slug }) as Campaign },
    commitLog: createCommitLog(db, { maxInFlight: 1 }),
    publisher: { publish: async () => {} },
    metrics: createMetrics(),
    config: { VERSION: 'test', ENVIRONMENT: 'test' },
    log: { warn: () => {} },
  })
  return {
    /** Runs `EVENT` as the guest session `session_id`; `done` once it is in its handler. */
    async start(slug: string, session_id: string, request_id: string) {
      const done = dispatcher.dispatch({
        campaignSlug: slug,
        body: { type: 'campaign_event', event: EVENT, payload: { n: 1 }, request_id },
        principal: { kind: 'session', user_id: 'guest', session_id, roles: ['guest'] },
        ip: '127.0.0.1',
      })
      await gateOf(request_id).inHandler
      return { done }
    },
    release: (request_id: string) => gateOf(request_id).open(),
    drain: () => dispatcher.drain(),
  }
}

for (const dialect of DIALECTS) {
  describe(`an action whose first run is still in progress, real server (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string

    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => ctx.close())

    test('REST and socket: the 409 says when to retry, and the SDK resolves with the first run', async () => {
      const node = otherNode(ctx)
      const slug = await createCampaign(ctx.app)
      // REST answers, in order, with their Retry-After and body; the first 409 lets the first run end.
      const answers: Array<{ status: number; retryAfter: string | null; body: any }> = []
      const viaRest = ulid()
      const fetch: FetchLike = async (input, init) => {
        const res = await globalThis.fetch(input, init)
        if (String(input).endsWith('/update')) {
          answers.push({
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: await res.clone().json(),
          })
          if (res.status === 409) node.release(viaRest)
        }
        return res
      }
      const client = createClient({ baseUrl, fetch, WebSocket: WebSocket as unknown as WebSocketCtor })
      const session = await client.createSession()
      const viaSocket = ulid()
      const conn = client.connect(slug, { frequency: 20 })
      try {
        // Over the socket: the error ack carries `retry_after_ms`; the dispatch is sent again.
        const acks: UpdateAckFrame[] = []
        conn.on('update_ack', (ack) => {
          if (ack.request_id !== viaSocket) return
          acks.push(ack)
          if (ack.error?.code === 'REQUEST_IN_PROGRESS') node.release(viaSocket)
        })
        await until(() => conn.state === 'open', 'socket open')
        const firstRest = await node.start(slug, session.session_id, viaRest)
        const firstSocket = await node.start(slug, session.session_id, viaSocket)
        // Side by side: each waits out the server's wait for the other node.
        const [rest, ack] = await Promise.all([
          client.action(slug, EVENT, { n: 1 }, { requestId: viaRest }),
          conn.dispatch(EVENT, { n: 1 }, { requestId: viaSocket, timeoutMs: 60_000 }),
        ])

        assert.deepEqual(rest.result, { ran_on: 'first node', request_id: viaRest })
        assert.equal(answers[0]!.status, 409)
        assert.equal(answers[0]!.retryAfter, '1')
        assert.equal(answers[0]!.body.error.code, 'REQUEST_IN_PROGRESS')
        assert.equal(answers[0]!.body.error.details.retry_after_ms, 1000)
        assert.equal(typeof answers[0]!.body.error.details.takeover_in_ms, 'number')
        assert.equal(answers.at(-1)!.status, 200)
        assert.equal((await firstRest.done).status_code, 200)

        assert.equal(ack.status, 'success')
        assert.deepEqual(ack.result, { ran_on: 'first node', request_id: viaSocket })
        assert.equal(acks[0]!.error?.code, 'REQUEST_IN_PROGRESS')
        assert.equal(acks[0]!.error?.retry_after_ms, 1000)
        assert.equal((await firstSocket.done).status_code, 200)
      } finally {
        // A failed run leaves no handler waiting.
        node.release(viaRest)
        node.release(viaSocket)
        conn.close()
        await node.drain()
      }
    })
  })
}

describe('how long an action answered REQUEST_IN_PROGRESS is sent again', () => {
  const inProgress = new OvasabiError('REQUEST_IN_PROGRESS', 'still being processed', { status: 409 })
  test('the hint, bounded; then the error: after the last attempt, past the budget, for other codes', () => {
    const now = Date.now()
    assert.equal(inProgressWait(inProgress, 1, now, 1000), 1000)
    assert.equal(inProgressWait(inProgress, 1, now, undefined), IN_PROGRESS_RETRY.defaultWaitMs)
    assert.equal(inProgressWait(inProgress, 1, now, 3_600_000), IN_PROGRESS_RETRY.maxWaitMs)
    assert.equal(inProgressWait(inProgress, IN_PROGRESS_RETRY.attempts, now, 1000), undefined)
    assert.equal(inProgressWait(inProgress, 2, now - IN_PROGRESS_RETRY.budgetMs, 1000), undefined)
    assert.equal(inProgressWait(new OvasabiError('CONFLICT', 'x', { status: 409 }), 1, now, 1000), undefined)
  })
})
