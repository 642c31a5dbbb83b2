// A repeat of a request whose first run is still going on on another node waits for
// the first run's answer, then gives up with 409 REQUEST_IN_PROGRESS. The wait was a constant 10 s:
// an operator whose proxy times out sooner, or whose actions run longer, could not change it.
// `IDEMPOTENCY_WAIT_SECONDS` sets it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Type } from 'typebox'
import { loadConfig } from '../src/config.js'
import { createCommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { createMetrics } from '../src/platform/observability/metrics.js'
import { withDatabase } from './helper.js'
import { eventInput, spring } from './nexus-fixtures.js'

describe('IDEMPOTENCY_WAIT_SECONDS', () => {
  it('is read from the environment: 10 by default, 0 to 60', () => {
    assert.equal(loadConfig({}).IDEMPOTENCY_WAIT_SECONDS, 10)
    assert.equal(loadConfig({ IDEMPOTENCY_WAIT_SECONDS: '30' }).IDEMPOTENCY_WAIT_SECONDS, 30)
    assert.throws(() => loadConfig({ IDEMPOTENCY_WAIT_SECONDS: '61' }), /IDEMPOTENCY_WAIT_SECONDS/)
    assert.throws(() => loadConfig({ IDEMPOTENCY_WAIT_SECONDS: '-1' }), /IDEMPOTENCY_WAIT_SECONDS/)
  })

  it('a repeat waits as long as it says for the first run, and gets its answer', () =>
    withDatabase('pglite', async (database) => {
      const db = database.db
      await migrateToLatest(db)
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const registry = new ActionRegistry()
      registry.register({
        name: 'report.build',
        description: 'test action that runs for a while',
        payload: Type.Object({}),
        role: 'participant',
        feature: 'analytics',
        writes: 'immediate',
        handler: async () => {
          await gate
          return { result: { built: true } }
        },
      })
      // Two nodes on one database: a node joins its own copies in memory, the other's it waits for.
      const node = () =>
        createDispatcher({
          db,
          registry,
          campaigns: { get: async () => spring },
          commitLog: createCommitLog(db, { maxInFlight: 1 }),
          publisher: { publish: async () => {} },
          metrics: createMetrics(),
          config: { VERSION: 'test', ENVIRONMENT: 'test', IDEMPOTENCY_WAIT_SECONDS: 40 },
          log: { warn: () => {} },
        })
      const [a, b] = [node(), node()]
      const input = eventInput('report.build', {})
      const first = a.dispatch(input)
      await sleep(200)
      const repeat = b.dispatch(input)
      // The first run ends after the old fixed 10 s wait, well inside the 40 s asked for.
      await sleep(12_000)
      release()
      assert.equal((await first).status_code, 200)
      const answer = await repeat
      assert.equal(answer.status_code, 200, JSON.stringify(answer.body))
      assert.equal(answer.replayed, true)
      assert.deepEqual((answer.body as { result?: unknown }).result, { built: true })
    }))
})
