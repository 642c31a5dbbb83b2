import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createApiKeyService } from '../src/platform/auth/apikeys.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'

const NAME = 'OVASABI_ADMIN_KEY'
const EXECUTE = new Set(['execute', 'executeTakeFirst', 'executeTakeFirstOrThrow'])

/** `builder` (and every builder made from it) running its statement only once `gate` opens. */
function held<T extends object>(builder: T, gate: Promise<void>): T {
  return new Proxy(builder, {
    get(target, prop) {
      const value = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      if (EXECUTE.has(String(prop)))
        return async (...args: unknown[]) => {
          await gate
          return value.apply(target, args)
        }
      return (...args: unknown[]) => {
        const out = value.apply(target, args)
        return out && typeof out === 'object' && 'execute' in out ? held(out, gate) : out
      }
    },
  })
}

/** `db` whose first key update (a configured key's rotation) waits for `gate`; `reached` once it is asked for. */
function holdingFirstUpdate(db: Db, gate: Promise<void>) {
  let reached: () => void = () => {}
  const asked = new Promise<void>((resolve) => {
    reached = resolve
  })
  let first = true
  const proxy = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop)
      if (prop === 'updateTable')
        return (table: string) => {
          const builder = (value as (t: string) => object).call(target, table)
          if (table !== 'service_security_apikey' || !first) return builder
          first = false
          reached()
          return held(builder, gate)
        }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: proxy as Db, asked }
}

/**
 * A rolling deploy rotates OVASABI_ADMIN_KEY while a node with the earlier setting (re)starts: the
 * new node stores its key and revokes the earlier one, the stale node finds its key not yet revoked
 * and revokes "every other" key of the name, the new one included. Both ended revoked, and no
 * configured key worked at all until the setting was changed again.
 */
for (const dialect of DIALECTS) {
  describe(`OVASABI_ADMIN_KEY rotated while a stale node starts (${dialect})`, () => {
    it('leaves the newer key working, whatever the order of the two starts', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        const earlier = `earlier-admin-key-${randomBytes(8).toString('hex')}`
        const current = `current-admin-key-${randomBytes(8).toString('hex')}`
        await createApiKeyService({ db }).create({ name: NAME, role: 'admin', key: earlier })

        let open: () => void = () => {}
        const gate = new Promise<void>((resolve) => {
          open = resolve
        })
        const newNode = holdingFirstUpdate(db, gate)
        // The new node has stored the current key; its rotation waits while the stale node starts.
        const rotating = createApiKeyService({ db: newNode.db }).create({
          name: NAME,
          role: 'admin',
          key: current,
        })
        await newNode.asked
        const stale = await createApiKeyService({ db }).create({ name: NAME, role: 'admin', key: earlier })
        open()
        await rotating

        const check = createApiKeyService({ db })
        assert.equal((await check.authenticate(current))?.roles[0], 'admin', 'the current key works')
        assert.equal(await check.authenticate(earlier), undefined, 'the earlier key is revoked')
        assert.equal(stale.revoked_at, null, 'the stale node found its key active at its start')
      })
    })
  })
}
