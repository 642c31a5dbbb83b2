import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, DIALECTS, json, type TestContext } from './helper.js'

/**
 * OVASABI_ADMIN_KEY rotated, then a node starts with the earlier setting (a rolling deploy that
 * reached it late, a rollback): the earlier key stays revoked, and the current one keeps working.
 * Before, that start revoked the current key too, and no configured key worked any more.
 */

const FIRST = `first-admin-key-${randomBytes(8).toString('hex')}`
const SECOND = `second-admin-key-${randomBytes(8).toString('hex')}`

for (const dialect of DIALECTS) {
  describe(`a stale OVASABI_ADMIN_KEY (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { OVASABI_ADMIN_KEY: FIRST } })
      app = ctx.app
    })
    after(() => ctx.close())

    const asAdmin = (key: string) =>
      app.inject({ method: 'GET', url: '/api/campaign', headers: { 'x-api-key': key } })

    it('keeps the current configured key when a node starts with the one it replaced', async () => {
      // What the app does at start (app.ts): the setting changed, then a node with the old one.
      await app.platform.apiKeys.create({ name: 'OVASABI_ADMIN_KEY', role: 'admin', key: SECOND })
      const stale = await app.platform.apiKeys.create({
        name: 'OVASABI_ADMIN_KEY',
        role: 'admin',
        key: FIRST,
      })
      assert.ok(stale.revoked_at, 'the record says the earlier key is revoked')

      const first = await asAdmin(FIRST)
      assert.equal(first.statusCode, 401, first.body)
      assert.equal(json(first).error.code, 'INVALID_API_KEY')
      const second = await asAdmin(SECOND)
      assert.equal(second.statusCode, 200, second.body)

      // The current setting at the next start is as before: still the one working key.
      await app.platform.apiKeys.create({ name: 'OVASABI_ADMIN_KEY', role: 'admin', key: SECOND })
      assert.equal((await asAdmin(SECOND)).statusCode, 200)
      const active = (await app.platform.apiKeys.list()).filter(
        (k) => k.name === 'OVASABI_ADMIN_KEY' && !k.revoked_at,
      )
      assert.equal(active.length, 1)
    })
  })
}
