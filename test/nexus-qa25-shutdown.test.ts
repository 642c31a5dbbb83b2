// Shutdown closes the sockets, then flushed the commit log, then closed the pool. A WebSocket
// action still running then (its socket already gone) was not waited for: its commit came after
// the flush and met a closed pool, after an `immediate` handler had written, leaving its request
// id claimed (`pending`) for its retry to wait on. `Dispatcher.drain` waits for it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Type } from 'typebox'
import { createCommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher } from '../src/nexus/dispatcher.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { createMetrics } from '../src/platform/observability/metrics.js'
import { DIALECTS, withDatabase } from './helper.js'
import { eventInput, spring } from './nexus-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`shutdown waits for actions in flight (${dialect})`, () => {
    it('drains an action still in its handler: it commits with its record before drain resolves', () =>
      withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        let entered!: () => void
        const inHandler = new Promise<void>((resolve) => {
          entered = resolve
        })
        let release!: () => void
        const gate = new Promise<void>((resolve) => {
          release = resolve
        })
        const registry = new ActionRegistry()
        registry.register({
          name: 'content.slow',
          description: 'test action writing at once, held in its handler until released',
          payload: Type.Object({}),
          role: 'participant',
          feature: 'analytics',
          writes: 'immediate',
          handler: async () => {
            entered()
            await gate
            return { result: { done: true } }
          },
        })
        const dispatcher = createDispatcher({
          db: database.db,
          registry,
          campaigns: { get: async () => spring },
          commitLog: createCommitLog(database.db, { maxInFlight: 1 }),
          publisher: { publish: async () => {} },
          metrics: createMetrics(),
          config: { VERSION: 'test', ENVIRONMENT: 'test' },
          log: { warn: () => {} },
        })
        const order: string[] = []
        const input = eventInput('content.slow', {})
        const answered = dispatcher.dispatch(input).then((outcome) => {
          order.push(`answered ${outcome.status_code}`)
        })
        await inHandler
        const drained = dispatcher.drain().then(() => {
          order.push('drained')
        })
        // Released at once: a drain that only flushes the commit log (nothing queued yet) is done
        // before the handler even returns.
        release()
        await Promise.all([answered, drained])
        assert.deepEqual(order, ['answered 200', 'drained'])
        const record = await database.db
          .selectFrom('service_nexus_request')
          .select(['status', 'status_code'])
          .where('request_id', '=', (input.body as { request_id: string }).request_id)
          .executeTakeFirst()
        assert.deepEqual(record, { status: 'done', status_code: 200 })
      }))

    it('resolves at once with nothing in flight', () =>
      withDatabase(dialect, async (database) => {
        const dispatcher = createDispatcher({
          db: database.db,
          registry: new ActionRegistry(),
          campaigns: { get: async () => spring },
          commitLog: createCommitLog(database.db, { maxInFlight: 1 }),
          publisher: { publish: async () => {} },
          metrics: createMetrics(),
          config: { VERSION: 'test', ENVIRONMENT: 'test' },
          log: { warn: () => {} },
        })
        await dispatcher.drain()
      }))
  })
}
