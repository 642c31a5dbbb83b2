import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { adminHeaders, buildTestApp, createCampaign, json, type TestContext } from './helper.js'
import { lockWaiters } from './pg-lock-fixtures.js'
import { join, tryApply } from './referral-fixtures.js'
import { waitFor } from './wait-for.js'

// An apply racing its person's erasure, refused because of it: what they typed is not kept in
// the audit trail after the erasure blanked their attempts.

describe('referrals QA 28: an apply refused by its erasure', { skip: !process.env.DATABASE_URL }, () => {
  let ctx: TestContext
  let app: FastifyInstance
  before(async () => {
    ctx = await buildTestApp({ dialect: 'postgres' })
    app = ctx.app
  })
  after(() => ctx.close())

  it('keeps no text of an attempt refused because its person was erased meanwhile', async () => {
    const slug = await createCampaign(app)
    const ada = await join(app, slug, 'Ada')
    const bob = await join(app, slug, 'Bob')
    const blocker = new pg.Client({ connectionString: ctx.databaseUrl })
    await blocker.connect()
    try {
      const waiting = () => lockWaiters(blocker, 'advisory')
      // Bob's referral lock held: his erasure starts and waits for it, then his apply (its checks
      // done while he is not erased yet) waits behind the erasure.
      await blocker.query('begin')
      await blocker.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [
        `referral-person:${bob.user.id}`,
      ])
      const erased = app.inject({ method: 'DELETE', url: `/api/user/${bob.user.id}`, headers: adminHeaders })
      await waitFor(async () => (await waiting()) === 1, 'the erasure waiting')
      const applied = tryApply(app, slug, bob, ada.user.referral_code)
      await waitFor(async () => (await waiting()) === 2, 'the apply waiting')
      await blocker.query('commit')
      assert.equal((await erased).statusCode, 200)
      const res = await applied
      assert.equal(res.statusCode, 403, res.body)
      assert.equal(json(res).error.code, 'REGISTRATION_REQUIRED')
      const rows = await app.platform.database.db
        .selectFrom('service_referral_audit')
        .select(['code', 'reason'])
        .where('campaign_slug', '=', slug)
        .where('actor', '=', bob.user.id)
        .execute()
      // The refusal stays (fraud review), what was typed does not.
      assert.deepEqual(rows, [{ code: '', reason: 'REGISTRATION_REQUIRED' }])
    } finally {
      await blocker.end()
    }
  })
})
