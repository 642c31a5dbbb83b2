// Work an action leaves for after its commit (`ctx.afterCommit` tasks, `onCommitted` listeners)
// that throws is not lost without a trace: the action stays answered (it committed), and the
// failure is counted and logged (ids only). So is a claim the dispatcher could not release.
import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { Type } from 'typebox'
import type { Dispatcher } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import type { Db } from '../src/platform/db/database.js'
import { createMetrics, type Metrics } from '../src/platform/observability/metrics.js'
import {
  assertIdsOnly,
  contentCreate,
  eventInput,
  standInDispatcher,
  type Warning,
} from './nexus-fixtures.js'
import { waitUntil } from './realtime/client.js'

/**
 * A database for the claim path only: every query builds, `claim` gets its row, and `release`
 * (a delete) fails as it would with the database gone.
 */
function claimOnlyDb(): Db {
  const query = (op: string): unknown =>
    new Proxy(() => {}, {
      get: (_t, prop) => {
        if (prop === 'executeTakeFirst') return async () => ({ request_id: 'claimed' })
        if (prop === 'execute')
          return async () => {
            if (op === 'deleteFrom') throw new Error('Connection terminated unexpectedly')
            return []
          }
        return () => query(op)
      },
    })
  return new Proxy({}, { get: (_t, op) => () => query(String(op)) }) as Db
}

describe('after-commit work that fails', () => {
  let metrics: Metrics
  let warnings: Warning[]
  let dispatcher: Dispatcher
  /** What the next `content.create` leaves for after its commit. */
  let tasks: Array<() => void | Promise<void>>

  beforeEach(() => {
    metrics = createMetrics()
    tasks = []
    const registry = new ActionRegistry()
    registry.register({
      ...contentCreate(async (ctx) => {
        for (const task of tasks) ctx.afterCommit(task)
        return { result: { created: true } }
      }),
      aliases: ['create_content'],
    })
    registry.register({
      name: 'content.boom',
      description: 'test action writing at once, whose handler fails',
      payload: Type.Object({}),
      role: 'participant',
      feature: 'analytics',
      writes: 'immediate',
      handler: async () => {
        throw new Error('handler bug')
      },
    })
    ;({ dispatcher, warnings } = standInDispatcher({
      registry,
      publisher: { publish: async () => {} },
      metrics,
      db: claimOnlyDb(),
    }))
  })

  const failures = async (action: string) =>
    (await metrics.afterCommitFailures.get()).values.find((v) => v.labels.action === action)?.value ?? 0

  const input = (event = 'content.create') =>
    event === 'content.boom' ? eventInput(event, {}) : eventInput(event)

  it('answers the committed action, and counts and logs the task that threw', async () => {
    let ran = false
    tasks.push(async () => {
      throw new Error('announce failed')
    })
    tasks.push(() => {
      ran = true
    })
    const outcome = await dispatcher.dispatch(input('create_content'))
    assert.equal(outcome.status_code, 200)
    assert.equal((outcome.body as { status: string }).status, 'success')
    await waitUntil(async () => (await failures('content.create')) === 1, 10_000, 'the failure counted')
    assert.ok(ran, 'a failing task does not stop the others')

    assert.equal(warnings.length, 1)
    const { fields, message } = warnings[0]!
    assert.equal(fields.campaign, 'spring')
    assert.equal(fields.action, 'content.create', 'the canonical name, not the alias sent')
    assert.equal(fields.request_id, outcome.request_id)
    assert.equal(fields.stage, 'after_commit')
    assert.ok(fields.err instanceof Error && fields.err.message === 'announce failed')
    assert.match(message, /after-commit/)
    assertIdsOnly(warnings[0])
  })

  it('counts a task that throws at once, and an onCommitted listener that throws', async () => {
    tasks.push(() => {
      throw new Error('sync bug')
    })
    dispatcher.onCommitted(() => {
      throw new Error('listener bug')
    })
    const outcome = await dispatcher.dispatch(input())
    assert.equal(outcome.status_code, 200)
    await waitUntil(async () => (await failures('content.create')) === 2, 10_000, 'both failures counted')
    assert.deepEqual(warnings.map((w) => w.fields.stage).sort(), ['after_commit', 'on_committed'])
    for (const w of warnings) assert.equal(w.fields.request_id, outcome.request_id)
  })

  it('counts and logs nothing when the work succeeds', async () => {
    let ran = 0
    tasks.push(async () => {
      ran++
    })
    dispatcher.onCommitted(() => {
      ran++
    })
    await dispatcher.dispatch(input())
    await waitUntil(() => ran === 2, 10_000, 'the work done')
    assert.equal(await failures('content.create'), 0)
    assert.equal(warnings.length, 0)
  })

  it('logs a claim it could not release after a failed action, and still answers the failure', async () => {
    const sent = input('content.boom')
    await assert.rejects(dispatcher.dispatch(sent), /handler bug/)
    assert.equal(warnings.length, 1)
    const { fields } = warnings[0]!
    assert.equal(fields.campaign, 'spring')
    assert.equal(fields.action, 'content.boom')
    assert.equal(fields.request_id, (sent.body as { request_id: string }).request_id)
    assert.match(String((fields.err as Error).message), /Connection terminated/)
    assert.equal(await failures('content.boom'), 0, 'nothing committed: not an after-commit failure')
  })
})
