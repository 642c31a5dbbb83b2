// A request record past its 24 h (not purged yet) is taken over by a new request under the same
// key: by `claim` for an action that writes at once, by the commit statement for a deferred one.
// Both kept the old record's `subject_user_id` (the person a join's answer was about), so the new
// request stayed linked to that person: erasing them replaced the new request's stored answer with
// `ERASED`, and its retry was told "the person this request was about has been erased".
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Type } from 'typebox'
import { createCommitLog } from '../src/nexus/commit-log.js'
import { createDispatcher } from '../src/nexus/dispatcher.js'
import { forgetResponses, markSubject, storedResponse } from '../src/nexus/idempotency.js'
import { ActionRegistry } from '../src/nexus/registry.js'
import { actorKey } from '../src/platform/auth/principal.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { createMetrics } from '../src/platform/observability/metrics.js'
import { DIALECTS, withDatabase } from './helper.js'
import { eventInput, principal, spring } from './nexus-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`an expired request record taken over forgets whom it was about (${dialect})`, () => {
    for (const writes of ['immediate', 'deferred'] as const) {
      it(`a new ${writes} action under the key is not erased with the old join's person`, () =>
        withDatabase(dialect, async (database) => {
          const db = database.db
          await migrateToLatest(db)
          const registry = new ActionRegistry()
          registry.register({
            name: 'member.join',
            description: 'test join: its answer is about a new member',
            payload: Type.Object({}),
            role: 'participant',
            feature: 'analytics',
            writes: 'immediate',
            handler: async (ctx) => {
              ctx.defer((trx) => markSubject(trx, ctx, 'user_joined_yesterday'))
              return { result: { joined: 'user_joined_yesterday' } }
            },
          })
          registry.register({
            name: 'note.add',
            description: 'test action of the same caller, about nobody else',
            payload: Type.Object({}),
            role: 'participant',
            feature: 'analytics',
            writes,
            handler: async () => ({ result: { noted: true } }),
          })
          const dispatcher = createDispatcher({
            db,
            registry,
            campaigns: { get: async () => spring },
            commitLog: createCommitLog(db, { maxInFlight: 1 }),
            publisher: { publish: async () => {} },
            metrics: createMetrics(),
            config: { VERSION: 'test', ENVIRONMENT: 'test' },
            log: { warn: () => {} },
          })
          const join = eventInput('member.join', {})
          const requestId = (join.body as { request_id: string }).request_id
          assert.equal((await dispatcher.dispatch(join)).status_code, 200)
          const key = { campaign_slug: 'spring', actor: actorKey(principal), request_id: requestId }
          const record = () =>
            db
              .selectFrom('service_nexus_request')
              .select(['status', 'subject_user_id'])
              .where('request_id', '=', requestId)
              .executeTakeFirstOrThrow()
          assert.equal((await record()).subject_user_id, 'user_joined_yesterday')
          // A day on: the record is past its window, not purged yet.
          await db
            .updateTable('service_nexus_request')
            .set({ expires_at: new Date(Date.now() - 1000) })
            .where('request_id', '=', requestId)
            .execute()

          const note = eventInput('note.add', {})
          ;(note.body as { request_id: string }).request_id = requestId
          const noted = await dispatcher.dispatch(note)
          assert.equal(noted.status_code, 200)
          assert.equal(noted.replayed, false)
          await dispatcher.drain()
          assert.deepEqual(await record(), { status: 'done', subject_user_id: null })

          // The person of the old join is erased: the new request's answer stays its own.
          await forgetResponses(db, [], ['user_joined_yesterday'])
          const stored = await storedResponse(db, key)
          assert.equal(stored?.status_code, 200)
          assert.deepEqual((stored?.body as { result?: unknown } | undefined)?.result, { noted: true })
        }))
    }
  })
}
