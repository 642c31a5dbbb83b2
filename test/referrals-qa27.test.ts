import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import * as repo from '../src/modules/referral/referral.repo.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  sendAction,
  type TestContext,
} from './helper.js'
import { withDatabase } from './helper.js'
import { plansOf } from './plan-fixtures.js'
import { join, refused, tryApply } from './referral-fixtures.js'

// A fresh-eyes QA pass on referrals: codes typed with Unicode letters that fold into the code's
// alphabet, one mailbox's several accounts referred as one person, and the audit trail read past
// its newest page.

interface AuditRow {
  id: number
  to_state: string
  reason: string | null
}

function auditPage(app: FastifyInstance, slug: string, query: string) {
  return app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/referrals/audit?${query}`,
    headers: adminHeaders,
  })
}

for (const dialect of DIALECTS) {
  describe(`referrals QA 27 (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
    })
    after(() => ctx.close())

    it('refuses Unicode letters that upper-case into the code’s alphabet, as other look-alikes', async () => {
      const slug = await createCampaign(app)
      const ada = await join(app, slug, 'Ada')
      // A code with the letters such characters fold into (S, F, T; a digit makes it unique), as a generated one may have.
      const code = `SSFFST${(randomBytes(1)[0]! % 8) + 2}`
      await app.platform.database.db
        .updateTable('service_user_membership')
        .set({ referral_code: code })
        .where('campaign_slug', '=', slug)
        .where('user_id', '=', ada.user.id)
        .execute()
      const bob = await join(app, slug)
      const lookAlikes = [
        // Long s (looks like an f) upper-cases to S; the ligatures to FF and ST; sharp s to SS.
        code.replace('S', '\u017f'),
        code.replace('FF', '\ufb00'),
        code.replace('ST', '\ufb06'),
        code.replace('ST', '\ufb05'),
        code.replace('SS', '\u00df'),
      ]
      for (const typed of lookAlikes) {
        assert.equal(typed.toUpperCase(), code, 'each reads as the code once upper-cased')
        refused(await tryApply(app, slug, bob, typed), 404, 'UNKNOWN_REFERRAL_CODE')
      }
      refused(
        await sendAction(app, slug, bob.token, 'referral.apply', { code: lookAlikes[0] }),
        404,
        'UNKNOWN_REFERRAL_CODE',
      )
      // Spaces (a no-break one too), dashes and case as people copy codes: still the code.
      const ok = await tryApply(app, slug, bob, `\u00a0${code.slice(0, 4).toLowerCase()}-${code.slice(4)} `)
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(json(ok).code, code)
    })

    it('refers one mailbox once per campaign: its other accounts (+tags, Gmail dots) are already referred', async () => {
      const slug = await createCampaign(app)
      const ada = await join(app, slug, 'Ada')
      const bo = await join(app, slug, 'Bo')
      const box = `carol${randomBytes(3).toString('hex')}`
      const first = await join(app, slug, 'Carol', `${box}+one@example.com`)
      const second = await join(app, slug, 'Carol 2', `${box}+two@example.com`)
      const plain = await join(app, slug, 'Carol 3', `${box}@example.com`)
      assert.equal((await tryApply(app, slug, first, ada.user.referral_code)).statusCode, 200)
      for (const who of [second, plain]) {
        refused(await tryApply(app, slug, who, ada.user.referral_code), 409, 'ALREADY_REFERRED')
        refused(await tryApply(app, slug, who, bo.user.referral_code), 409, 'ALREADY_REFERRED')
      }
      // Gmail ignores dots: one mailbox, however they are placed.
      const gmail = `dee${randomBytes(3).toString('hex')}`
      const dotted = await join(app, slug, 'Dee', `${gmail.slice(0, 2)}.${gmail.slice(2)}@gmail.com`)
      const undotted = await join(app, slug, 'Dee 2', `${gmail}@googlemail.com`)
      assert.equal((await tryApply(app, slug, dotted, bo.user.referral_code)).statusCode, 200)
      refused(await tryApply(app, slug, undotted, ada.user.referral_code), 409, 'ALREADY_REFERRED')
      const board = json(
        await app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/referrals/leaderboard`,
          headers: { authorization: `Bearer ${ada.token}` },
        }),
      ).entries as Array<{ display_name: string; referrals: number }>
      assert.deepEqual(
        board.map((e) => [e.display_name, e.referrals]),
        [
          ['Ada', 1],
          ['Bo', 1],
        ],
      )

      // Two accounts of one mailbox applying at once: one referral.
      const eve = `eve${randomBytes(3).toString('hex')}`
      const both = [
        await join(app, slug, 'Eve', `${eve}+a@example.com`),
        await join(app, slug, 'Eve', `${eve}+b@example.com`),
      ]
      const raced = await Promise.all(both.map((who) => tryApply(app, slug, who, ada.user.referral_code)))
      assert.deepEqual(raced.map((r) => r.statusCode).sort(), [200, 409], raced.map((r) => r.body).join())

      // Another campaign is another referral.
      const other = await createCampaign(app)
      const fay = await join(app, other, 'Fay')
      const there = await join(app, other, 'Carol', `${box}+three@example.com`)
      assert.equal((await tryApply(app, other, there, fay.user.referral_code)).statusCode, 200)

      // Erasure forgets what the referral held of the address, the mailbox's mark with it.
      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${first.user.id}`,
        headers: { authorization: `Bearer ${first.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const row = await app.platform.database.db
        .selectFrom('service_referral_main')
        .select(['ip_hash', 'metadata'])
        .where('campaign_slug', '=', slug)
        .where('referred_id', '=', first.user.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { ip_hash: '', metadata: {} })
    })

    it('pages the audit trail with `before`, newest first, so nothing past the newest page is out of reach', async () => {
      const slug = await createCampaign(app)
      const ada = await join(app, slug, 'Ada')
      for (let i = 0; i < 3; i++) {
        const res = await tryApply(app, slug, await join(app, slug), ada.user.referral_code)
        assert.equal(res.statusCode, 200, res.body)
      }
      const whole = await auditPage(app, slug, 'limit=1000')
      assert.equal(whole.statusCode, 200, whole.body)
      const all = json(whole).entries as AuditRow[]
      assert.equal(all.length, 6, whole.body)
      const seen: AuditRow[] = []
      let query = 'limit=4'
      for (let i = 0; i < 5; i++) {
        const res = await auditPage(app, slug, query)
        assert.equal(res.statusCode, 200, res.body)
        const entries = json(res).entries as AuditRow[]
        seen.push(...entries)
        if (entries.length < 4) break
        query = `limit=4&before=${entries[entries.length - 1]!.id}`
      }
      assert.deepEqual(seen, all, 'each entry once, in the same order as one big page')
      assert.deepEqual(json(await auditPage(app, slug, `before=${all[all.length - 1]!.id}`)).entries, [])
      for (const q of ['before=0', 'before=-1', 'before=x', 'before=1.5'])
        refused(await auditPage(app, slug, q), 400, 'VALIDATION_FAILED')
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`the mailbox lookup of referrals (${dialect})`, () => {
    it('goes through the metadata index, never a scan of the referrals', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        // 20,000 referrals in one campaign, each of a mailbox of its own.
        await sql`
          insert into service_referral_main (campaign_slug, code, referrer_id, referred_id, state, ip_hash, metadata)
          select 'camp', 'CODE' || (g % 500), 'usr_r' || (g % 500), 'usr_p' || g, 'qualified', md5(g::text),
                 jsonb_build_object('mailbox', md5('box' || g))
          from generate_series(0, 19999) g`.execute(db)
        // (`vacuum`: a GIN index takes fresh entries into a pending list first, as autovacuum flushes it.)
        await sql`vacuum analyze service_referral_main`.execute(db)
        const key = (await sql<{ k: string }>`select md5('box7') as k`.execute(db)).rows[0]!.k
        assert.equal(await repo.mailboxReferred(db, key), true)
        assert.equal(await repo.mailboxReferred(db, 'f'.repeat(32)), false)
        const [plan] = await plansOf(db, (q) => repo.mailboxReferred(q, key))
        assert.match(plan!, /service_referral_main_metadata_gin/, plan)
        assert.doesNotMatch(plan!, /Seq Scan/, plan)
      })
    })
  })
}
