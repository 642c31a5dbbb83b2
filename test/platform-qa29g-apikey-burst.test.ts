import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createApiKeyService } from '../src/platform/auth/apikeys.js'
import { createMemoryBus } from '../src/platform/bus/memory.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'

/** `db`, counting the statements started on each table. */
function counted(db: Db): { db: Db; reads: () => number; writes: () => number } {
  let reads = 0
  let writes = 0
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop === 'selectFrom' || prop === 'updateTable') {
        return (table: string) => {
          if (table === 'service_security_apikey') prop === 'selectFrom' ? reads++ : writes++
          return (value as (t: string) => unknown).call(target, table)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: proxy as Db, reads: () => reads, writes: () => writes }
}

/**
 * A node checks a key it holds no answer for with the database, and writes its `last_used_at`.
 * Its cache is empty at start, every 30 s, and after every revocation any node announces (all
 * keys): the requests an integration sends at that moment, concurrently, must not each read the
 * key and update the same row (a queue of row locks on PostgreSQL), but share one check.
 */
for (const dialect of DIALECTS) {
  describe(`a burst of requests with one API key on a cold cache (${dialect})`, () => {
    it('is answered from one read and one last_used_at write', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        const bus = createMemoryBus()
        const issued = await createApiKeyService({ db, bus }).create({ name: 'integration', role: 'editor' })
        const probe = counted(db)
        const node = createApiKeyService({ db: probe.db, bus })
        const principals = await Promise.all(Array.from({ length: 20 }, () => node.authenticate(issued.key)))
        assert.ok(
          principals.every((p) => p?.roles[0] === 'editor'),
          JSON.stringify(principals),
        )
        assert.equal(probe.reads(), 1, 'reads of the key')
        assert.equal(probe.writes(), 1, 'last_used_at writes')
      })
    })

    it('never answers a request made after a revocation was heard from a check begun before it', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        const bus = createMemoryBus()
        const admin = createApiKeyService({ db, bus })
        const node = createApiKeyService({ db, bus })
        const issued = await admin.create({ name: 'integration', role: 'editor' })
        // The node subscribes at its first check; this one is left running while the key is revoked.
        assert.equal((await node.authenticate(`${issued.key}-unknown`)) ?? null, null)
        const before = node.authenticate(issued.key)
        assert.equal(await admin.revoke(issued.id), true)
        await new Promise((resolve) => setImmediate(resolve)) // the bus delivers
        assert.equal(await node.authenticate(issued.key), undefined)
        await before
      })
    })
  })
}
