// Lead addresses in the form accounts store them (`leadEmail`): a look-alike of an address
// (fullwidth, a letterlike symbol, an internationalised domain typed in Unicode) is the same
// person for the 24 h merge and for erasure; migration 029 rewrites the leads stored before.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { EMAIL_NOT_ASCII_HINT } from '../src/modules/quote/quote.schema.js'
import { storedForms } from '../src/modules/user/email.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { up } from '../src/platform/db/migrations/029_lead_email_normal_form.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp, withDatabase } from './helper.js'
import { bearer, join } from './people-fixtures.js'

const tag = () => randomBytes(4).toString('hex')

/** `POST /api/quote` from the session of `token`. */
function submit(app: FastifyInstance, slug: string, token: string, email: string) {
  return app.inject({
    method: 'POST',
    url: '/api/quote',
    headers: bearer(token),
    payload: { campaign: slug, name: 'Ada', email },
  })
}

async function submitted(app: FastifyInstance, slug: string, token: string, email: string) {
  const res = await submit(app, slug, token, email)
  assert.equal(res.statusCode, 200, `${email}: ${res.body}`)
  return json(res).result as { lead_id: string; updated: boolean }
}

const leadRow = (db: Db, id: string) =>
  db
    .selectFrom('service_quote_main')
    .select(['email', 'name', 'erased_at', 'submissions'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()

for (const dialect of DIALECTS) {
  describe(`lead addresses in their normal form (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('merges a look-alike of the address into its open lead within 24 h', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const local = `ada_${tag()}`
      const first = await submitted(s.app, slug, token, `${local}@example.com`)
      for (const lookAlike of [
        `${local.toUpperCase()}@ＥＸＡＭＰＬＥ.com`,
        `${local}@ℯxample.com`,
        `${local}@example。com`,
      ]) {
        const again = await submitted(s.app, slug, token, lookAlike)
        assert.equal(again.lead_id, first.lead_id, lookAlike)
        assert.equal(again.updated, true, lookAlike)
      }
      const row = await leadRow(s.app.platform.database.db, first.lead_id)
      assert.equal(row.email, `${local}@example.com`)
      assert.equal(row.submissions, 4)

      // An internationalised domain typed in Unicode is its ASCII (xn--) form's lead.
      const ume = `ume_${tag()}`
      const idn = await submitted(s.app, slug, token, `${ume}@EXÄMPLE.com`)
      assert.equal(
        (await leadRow(s.app.platform.database.db, idn.lead_id)).email,
        `${ume}@xn--exmple-cua.com`,
      )
      const puny = await submitted(s.app, slug, token, `${ume}@xn--exmple-cua.com`)
      assert.equal(puny.lead_id, idn.lead_id)
      assert.equal(puny.updated, true)
    })

    it('refuses an address still outside ASCII before the @, naming the field', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      for (const email of [`ＡＤＡ_${tag()}@example.com`, `josé_${tag()}@example.com`]) {
        const res = await submit(s.app, slug, token, email)
        assert.equal(res.statusCode, 400, res.body)
        assert.deepEqual(json(res).error.details, [
          { field: 'email', path: '/email', in: 'body', message: EMAIL_NOT_ASCII_HINT },
        ])
      }
    })

    it("erases a look-alike's lead, sent from another session, with the account", async () => {
      const slug = await createCampaign(s.app)
      const local = `ada_${tag()}`
      const ume = `ume_${tag()}`
      const ada = await join(s.app, slug, { name: 'Ada', email: `${local}@example.com` })
      const umeUser = await join(s.app, slug, { name: 'Ume', email: `${ume}@exämple.com` })
      // Guests, not the members: only the address can tie these leads to them.
      const { token } = await guestToken(s.app)
      const adaLead = await submitted(s.app, slug, token, `${local.toUpperCase()}@ＥＸＡＭＰＬＥ.com`)
      const umeLead = await submitted(s.app, slug, token, `${ume}@EXÄMPLE.com`)
      const other = await submitted(s.app, slug, token, `bob_${tag()}@example.com`)
      const db = s.app.platform.database.db
      // What the lead stores is a form erasure looks the account up under.
      assert.ok(storedForms(`${ume}@exämple.com`).includes((await leadRow(db, umeLead.lead_id)).email!))

      for (const person of [ada, umeUser]) {
        const erased = await s.app.inject({
          method: 'DELETE',
          url: `/api/user/${person.user.id}`,
          headers: adminHeaders,
        })
        assert.equal(erased.statusCode, 200, erased.body)
      }
      for (const id of [adaLead.lead_id, umeLead.lead_id]) {
        const row = await leadRow(db, id)
        assert.ok(row.erased_at, id)
        assert.equal(row.email, null)
        assert.equal(row.name, null)
      }
      assert.equal((await leadRow(db, other.lead_id)).erased_at, null)
    })
  })

  describe(`migration 029: lead addresses backfilled (${dialect})`, () => {
    it('rewrites leads stored trimmed and lower-cased only, keeping every lead', async () => {
      await withDatabase(dialect, async ({ db }) => {
        assert.ok((await migrateToLatest(db)).includes('029_lead_email_normal_form'))
        // Rows as the previous version could leave them: the address trimmed and lower-cased only.
        const rows = [
          { id: 'lead_old_fullwidth', email: 'ada@ｅｘａｍｐｌｅ.com' },
          { id: 'lead_old_letterlike', email: 'ada@ℯxample.com' },
          { id: 'lead_new_ascii', email: 'ada@example.com' },
          { id: 'lead_old_unicode_idn', email: 'ume@exämple.com' },
          { id: 'lead_plain', email: "o'neil+quotes@example.com" },
          { id: 'lead_erased', email: null },
        ]
        await db
          .insertInto('service_quote_main')
          .values(
            rows.map((r) => ({
              ...r,
              campaign_slug: 'camp',
              name: 'Ada',
              user_id: 'guest',
              session_id: 'ses_1',
              metadata: JSON.stringify({}),
            })),
          )
          .execute()

        await db.transaction().execute((trx) => up(trx))

        const after = await sql<{ id: string; email: string | null }>`
          select id, email from service_quote_main order by id`.execute(db)
        assert.deepEqual(after.rows, [
          { id: 'lead_erased', email: null },
          { id: 'lead_new_ascii', email: 'ada@example.com' },
          { id: 'lead_old_fullwidth', email: 'ada@example.com' },
          { id: 'lead_old_letterlike', email: 'ada@example.com' },
          { id: 'lead_old_unicode_idn', email: 'ume@xn--exmple-cua.com' },
          { id: 'lead_plain', email: "o'neil+quotes@example.com" },
        ])
        // Run again (a retried deploy): nothing left to rewrite.
        await db.transaction().execute((trx) => up(trx))
        const again = await sql<{ n: number }>`select count(*)::int as n from service_quote_main
          where email = 'ada@example.com'`.execute(db)
        assert.equal(again.rows[0]!.n, 3)
      })
    })
  })
}
