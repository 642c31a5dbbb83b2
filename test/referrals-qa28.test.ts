import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import * as repo from '../src/modules/referral/referral.repo.js'
import { createReferralService } from '../src/modules/referral/referral.service.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  onTwoPostgresNodes,
  sendAction,
  type TestContext,
  withDatabase,
} from './helper.js'
import { counter, join, refused, seedPending, tryApply } from './referral-fixtures.js'

// QA pass 28 on referrals: a guest told to register (not a bare FORBIDDEN), leaderboard ties
// ordered by the database's clock (not each node's), and `max_referrals` held for a referrer
// without a counter row yet.

async function board(app: FastifyInstance, slug: string, token: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/referrals/leaderboard`,
    headers: { authorization: `Bearer ${token}` },
  })
  assert.equal(res.statusCode, 200, res.body)
  return (json(res).entries as Array<{ display_name: string; referrals: number }>).map((e) => [
    e.display_name,
    e.referrals,
  ])
}

for (const dialect of DIALECTS) {
  describe(`referrals QA 28 (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
    })
    after(() => ctx.close())

    it('tells a guest session to register first (REGISTRATION_REQUIRED), by REST and by action', async () => {
      const slug = await createCampaign(app)
      const ada = await join(app, slug, 'Ada')
      const guest = await guestToken(app)
      refused(await tryApply(app, slug, guest, ada.user.referral_code), 403, 'REGISTRATION_REQUIRED')
      // Before the body is looked at: a page with a half-typed form learns what to do first.
      refused(await tryApply(app, slug, guest, ''), 403, 'REGISTRATION_REQUIRED')
      refused(
        await sendAction(app, slug, guest.token, 'referral.apply', { code: ada.user.referral_code }),
        403,
        'REGISTRATION_REQUIRED',
      )
      refused(
        await sendAction(app, slug, guest.token, 'apply_referral', { code: ada.user.referral_code }),
        403,
        'REGISTRATION_REQUIRED',
      )
      // Nothing counted, and a visitor's attempts do not fill the fraud review's trail.
      const audit = await app.platform.database.db
        .selectFrom('service_referral_audit')
        .select('id')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.deepEqual(audit, [])
      assert.deepEqual(await board(app, slug, ada.token), [])
      // Once registered (from that same guest session's browser), the code is theirs to apply.
      const bob = await join(app, slug, 'Bob')
      const ok = await tryApply(app, slug, bob, ada.user.referral_code)
      assert.equal(ok.statusCode, 200, ok.body)
    })

    it('holds max_referrals for a referrer without a counter row yet (0 and 1)', async () => {
      const db = app.platform.database.db
      const campaign = await createCampaign(app)
      const none = `u_${randomBytes(6).toString('hex')}`
      assert.equal(await repo.incrementQualified(db, campaign, none, 0), undefined)
      assert.equal(await repo.qualifiedCount(db, campaign, none), 0)
      const one = `u_${randomBytes(6).toString('hex')}`
      assert.equal(await repo.incrementQualified(db, campaign, one, 1), 1)
      assert.equal(await repo.incrementQualified(db, campaign, one, 1), undefined)
      assert.equal(await repo.qualifiedCount(db, campaign, one), 1)
      const free = `u_${randomBytes(6).toString('hex')}`
      assert.equal(await repo.incrementQualified(db, campaign, free, null), 1)
      assert.equal(await repo.incrementQualified(db, campaign, free, null), 2)
    })
  })
}

describe('referrals QA 28: leaderboard ties across nodes', { skip: !process.env.DATABASE_URL }, () => {
  it('orders tied referrers by when they got there, whatever the clock of the node that counted them', async () => {
    await onTwoPostgresNodes(async (first, second) => {
      const slug = await createCampaign(first.app)
      const ada = await join(first.app, slug, 'Ada')
      const bob = await join(first.app, slug, 'Bob')
      // Node one's clock runs an hour fast; Ada's referral is counted there, first.
      const ahead = 60 * 60 * 1000
      mock.timers.enable({ apis: ['Date'], now: Date.now() + ahead })
      try {
        const cy = await join(first.app, slug, 'Cy')
        const res = await tryApply(first.app, slug, cy, ada.user.referral_code)
        assert.equal(res.statusCode, 200, res.body)
      } finally {
        mock.timers.reset()
      }
      // Then Bob's, on node two, whose clock is right.
      const dee = await join(second.app, slug, 'Dee')
      const res = await tryApply(second.app, slug, dee, bob.user.referral_code)
      assert.equal(res.statusCode, 200, res.body)
      const expected = [
        ['Ada', 1],
        ['Bob', 1],
      ]
      assert.deepEqual(await board(first.app, slug, ada.token), expected)
      assert.deepEqual(await board(second.app, slug, ada.token), expected)
    })
  })
})

// The repository on a migrated database of its own. PostgreSQL only: PGlite runs inside the
// node's process, so its clock is the node's (one node, nothing to disagree with).
for (const dialect of DIALECTS.filter((d) => d === 'postgres')) {
  describe(`referrals QA 28 repository (${dialect})`, () => {
    it('breaks leaderboard ties by the database clock, not the caller’s', async () => {
      await withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        const db = database.db
        // The first referrer is counted under a clock an hour fast, the second under the right one.
        mock.timers.enable({ apis: ['Date'], now: Date.now() + 60 * 60 * 1000 })
        try {
          assert.equal(await repo.incrementQualified(db, 'tie', 'first', null), 1)
        } finally {
          mock.timers.reset()
        }
        assert.equal(await repo.incrementQualified(db, 'tie', 'second', null), 1)
        const rows = await repo.topReferrers(db, 'tie', 10)
        assert.deepEqual(
          rows.map((r) => r.user_id),
          ['first', 'second'],
        )
      })
    })
  })
}

// Rechecks of campaigns in one sweep: one campaign whose batches keep failing does not hold up
// the others' (each failure is reported, and that campaign is tried again next sweep).
for (const dialect of DIALECTS) {
  describe(`referrals QA 28 rechecks (${dialect})`, () => {
    it('rechecks the other campaigns when one campaign’s batch keeps failing', async () => {
      await withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        const db = database.db
        const rules = { referral_qualifies_on: 'register' }
        const [stuck, fine] = [await seedPending(db, 2, rules), await seedPending(db, 2, rules)]
        // Both due, the stuck one first; its referrer's counter cannot take one more (integer).
        for (const [slug, at] of [
          [stuck, new Date(1_000)],
          [fine, new Date(2_000)],
        ] as const) {
          const { version } = await db
            .selectFrom('service_campaign_main')
            .select('version')
            .where('slug', '=', slug)
            .executeTakeFirstOrThrow()
          await db
            .insertInto('service_referral_recheck')
            .values({
              campaign_slug: slug,
              campaign_version: version,
              qualifies_on: 'register',
              after_id: 0,
              passes_left: 1,
              due_at: at,
              updated_at: at,
            })
            .execute()
        }
        await db
          .updateTable('service_referral_counter')
          .set({ qualified: 2_147_483_647 })
          .where('campaign_slug', '=', stuck)
          .execute()
        const errors: unknown[] = []
        const referrals = createReferralService({
          db,
          publisher: { publish: async () => {} },
          users: {
            findMember: async () => undefined,
            sessionIds: async () => [],
            displayNames: async (ids) => new Map(ids.map((id) => [id, id])),
          },
          onError: (err) => errors.push(err),
        })
        for (let sweep = 0; sweep < 2; sweep++) {
          assert.equal(await referrals.sweepRechecks(), sweep === 0 ? 2 : 0)
        }
        assert.equal(errors.length, 2, 'the stuck campaign reported at each sweep')
        assert.deepEqual(await counter(db, fine, 'ref1'), { qualified: 2, pending: 0 })
        assert.deepEqual(await counter(db, stuck, 'ref1'), { qualified: 2_147_483_647, pending: 2 })
      })
    })
  })
}
