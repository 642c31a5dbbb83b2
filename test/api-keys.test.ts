import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, DIALECTS, json, type TestContext } from './helper.js'

/** An admin key as an operator may set it: any text of 24 characters or more, no `ovs_` prefix. */
const CONFIGURED = `plain-admin-key-${randomBytes(8).toString('hex')}`

for (const dialect of DIALECTS) {
  describe(`configured API keys (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { OVASABI_ADMIN_KEY: CONFIGURED } })
      app = ctx.app
    })
    after(() => ctx.close())

    const asAdmin = (headers: Record<string, string>) =>
      app.inject({ method: 'GET', url: '/api/campaign', headers })

    it('accepts an OVASABI_ADMIN_KEY without the ovs_ prefix, as X-API-Key and as Bearer', async () => {
      assert.equal((await asAdmin({ 'x-api-key': CONFIGURED })).statusCode, 200)
      assert.equal((await asAdmin({ authorization: `Bearer ${CONFIGURED}` })).statusCode, 200)
      const wrong = await asAdmin({ 'x-api-key': `${CONFIGURED}x` })
      assert.equal(wrong.statusCode, 401)
      assert.equal(json(wrong).error.code, 'INVALID_API_KEY')
      // Stored as its hash only.
      const rows = await app.platform.database.db.selectFrom('service_security_apikey').selectAll().execute()
      const row = rows.find((r) => r.name === 'OVASABI_ADMIN_KEY')!
      assert.equal(row.key_hash, createHash('sha256').update(CONFIGURED).digest('hex'))
      assert.ok(!JSON.stringify(rows).includes(CONFIGURED))
    })

    it('rotates the configured key: a new OVASABI_ADMIN_KEY revokes the one set before', async () => {
      const next = `rotated-admin-key-${randomBytes(8).toString('hex')}`
      // What the app does at start with the setting changed.
      await app.platform.apiKeys.create({ name: 'OVASABI_ADMIN_KEY', role: 'admin', key: next })
      assert.equal((await asAdmin({ 'x-api-key': next })).statusCode, 200)
      const old = await asAdmin({ 'x-api-key': CONFIGURED })
      assert.equal(old.statusCode, 401, old.body)
      assert.equal(json(old).error.code, 'INVALID_API_KEY')
      // Other keys are not touched; a revoked configured key stays revoked at the next start.
      const other = await app.platform.apiKeys.create({ name: 'automation', role: 'editor' })
      await app.platform.apiKeys.create({ name: 'OVASABI_ADMIN_KEY', role: 'admin', key: next })
      assert.equal((await asAdmin({ 'x-api-key': other.key })).statusCode, 200)
      await app.platform.apiKeys.create({ name: 'OVASABI_ADMIN_KEY', role: 'admin', key: CONFIGURED })
      assert.equal((await asAdmin({ 'x-api-key': CONFIGURED })).statusCode, 401)
    })
  })
}
