import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import * as repo from '../src/modules/referral/referral.repo.js'
import { activeRule } from '../src/modules/referral/referral.rules.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { migrateBefore } from './migrate-before.js'
import { plansOf as plansOfStatements } from './plan-fixtures.js'

const MIGRATION = '027_referral_erasure_indexes'
const PERSON = 'usr_p1234'

/**
 * 20,000 referrals (4 campaigns, 5,000 people in each) and 20,000 audit entries (a quarter of
 * them refused attempts), then `analyze`: enough rows that a scan costs more than an index.
 */
async function seed(db: Db): Promise<void> {
  await sql`
    insert into service_referral_main (campaign_slug, code, referrer_id, referred_id, state, ip_hash)
    select 'camp_' || (g % 4), 'CODE' || (g % 500), 'usr_r' || (g % 500), 'usr_p' || (g / 4),
           case when g % 3 = 0 then 'pending' else 'qualified' end, md5(g::text)
    from generate_series(0, 19999) g`.execute(db)
  await sql`
    insert into service_referral_audit (campaign_slug, referral_id, code, actor, from_state, to_state, reason)
    select 'camp_' || (g % 4), null, 'typed' || g, 'usr_p' || (g / 4), null,
           case when g % 4 = 0 then 'refused' else 'pending' end, 'unknown_code'
    from generate_series(0, 19999) g`.execute(db)
  await sql`analyze service_referral_main`.execute(db)
  await sql`analyze service_referral_audit`.execute(db)
}

/** The plans of its selects and updates: the erasure statements are updates. */
const plansOf = (db: Db, run: (db: Db) => Promise<unknown>) => plansOfStatements(db, run, { updates: true })

const indexNames = async (db: Db) =>
  (
    await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes
      where tablename in ('service_referral_main', 'service_referral_audit')`.execute(db)
  ).rows

for (const dialect of DIALECTS) {
  describe(`referral erasure indexes (${dialect})`, () => {
    it("finds the person's referrals and refused attempts through an index, not by scanning", async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        await seed(db)
        const statements: [string, (q: Db) => Promise<unknown>, RegExp][] = [
          ['forgetAddress', (q) => repo.forgetAddress(q, PERSON), /service_referral_main_referred_id/],
          ['forgetAttempts', (q) => repo.forgetAttempts(q, PERSON), /service_referral_audit_refused_actor/],
          [
            'rejectPendingOf',
            (q) => repo.rejectPendingOf(q, PERSON, 'erased'),
            /service_referral_main_referred_id/,
          ],
        ]
        for (const [name, run, index] of statements) {
          const plans = await plansOf(db, run)
          assert.equal(plans.length, 1, `${name}: one statement`)
          const plan = plans[0]!
          assert.match(plan, /^Update on service_referral_/, `${name}: ${plan}`)
          assert.match(plan, index, `${name}: ${plan}`)
          assert.doesNotMatch(plan, /Seq Scan/, `${name}: ${plan}`)
        }
        // Only planned: nothing was changed.
        const untouched = await sql<{ n: number }>`
          select count(*)::int as n from service_referral_main where referred_id = ${PERSON} and ip_hash <> ''`.execute(
          db,
        )
        assert.equal(untouched.rows[0]!.n, 4)
      })
    })

    it('applies 027 to a database migrated before it, rows and all, once', async () => {
      await withDatabase(dialect, async ({ db }) => {
        // The database as the previous version left it: no 027, its tables already holding rows.
        await migrateBefore(db, MIGRATION)
        await repo.audit(db, {
          campaign_slug: 'camp_0',
          referral_id: null,
          code: 'bob@example.com',
          actor: PERSON,
          from_state: null,
          to_state: 'refused',
          reason: 'unknown_code',
        })
        await seed(db)
        assert.ok(!(await indexNames(db)).some((i) => /referred_id$|refused_actor$/.test(i.indexname)))

        // 027 first, then whatever later migrations this version has.
        assert.equal((await migrateToLatest(db))[0], MIGRATION)
        const indexes = await indexNames(db)
        const byId = indexes.find((i) => i.indexname === 'service_referral_main_referred_id')
        assert.ok(byId, JSON.stringify(indexes))
        assert.match(byId.indexdef, /\(referred_id\)$/)
        const refused = indexes.find((i) => i.indexname === 'service_referral_audit_refused_actor')
        assert.ok(refused, JSON.stringify(indexes))
        assert.match(refused.indexdef, /\(actor\) WHERE \(to_state = 'refused'::text\)$/)
        assert.deepEqual(await migrateToLatest(db), [])

        // The erasure statements run as before on the migrated rows.
        await db.transaction().execute(async (trx) => {
          await repo.forgetAddress(trx, PERSON)
          await repo.forgetAttempts(trx, PERSON)
          const rejected = await repo.rejectPendingOf(trx, PERSON, 'erased')
          // usr_p1234 is g = 4936..4939: only 4938 (g % 3 = 0) was pending, in camp_2.
          assert.deepEqual(
            rejected.map((r) => r.campaign_slug),
            ['camp_2'],
          )
        })
        const attempts = await sql<{ code: string }>`
          select code from service_referral_audit where actor = ${PERSON} and to_state = 'refused'`.execute(
          db,
        )
        assert.ok(attempts.rows.length > 1)
        assert.ok(attempts.rows.every((r) => r.code === ''))
      })
    })

    it('reads a campaign metadata column that holds no object as {}, for the recheck', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        const stored = { null: 'null', string: '"referral"', array: '["referral"]', number: '7' }
        for (const [slug, json] of Object.entries(stored)) {
          await sql`
            insert into service_campaign_main (slug, title, description, draft, created_by, metadata)
            values (${slug}, ${slug}, '', false, 'legacy', ${json}::jsonb)`.execute(db)
        }
        await sql`
          insert into service_campaign_main (slug, title, description, draft, created_by, metadata)
          values ('object', 'object', '', false, 'test', ${JSON.stringify({ features: ['referral'] })}::jsonb)`.execute(
          db,
        )
        for (const slug of Object.keys(stored)) {
          const now = await repo.campaignNow(db, slug)
          assert.ok(now, slug)
          assert.deepEqual({ ...now.metadata }, {}, slug)
          assert.equal(typeof now.metadata, 'object', slug)
          assert.ok(now.metadata !== null && !Array.isArray(now.metadata), slug)
          assert.equal(activeRule(now), null, slug)
          const shared = await db.transaction().execute((trx) => repo.campaignNow(trx, slug, { share: true }))
          assert.ok(shared && shared.metadata !== null && !Array.isArray(shared.metadata), slug)
          assert.equal(typeof shared.metadata, 'object', slug)
        }
        const object = await repo.campaignNow(db, 'object')
        assert.deepEqual(object?.metadata, { features: ['referral'] })
        assert.equal(object && activeRule(object), 'register')
        assert.equal(await repo.campaignNow(db, 'missing'), undefined)
      })
    })
  })
}
