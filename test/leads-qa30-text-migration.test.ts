// Migration 038: since QA 30d a lead's text is stored in NFC and its locale canonical; the leads
// stored before kept their typed form, so the list's NFC search missed an "Ame\u0301lie" and a
// filter by `en-US` an `EN-us`. They are rewritten once, as a new lead is stored.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { migrateBefore } from './migrate-before.js'

const MIGRATION = '038_lead_text_normal_form'

for (const dialect of DIALECTS) {
  describe(`migration 038: lead text in NFC, locales canonical (${dialect})`, () => {
    it('rewrites the leads stored in another form and leaves the rest', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateBefore(db, MIGRATION)
        const lead = (id: string, fields: Record<string, string | null>) =>
          sql`insert into service_quote_main (id, campaign_slug, email, name, company, message, interest, budget, locale, user_id, session_id)
              values (${id}, 'camp', ${`${id}@example.com`}, ${fields.name ?? null}, ${fields.company ?? null},
                      ${fields.message ?? null}, ${fields.interest ?? null}, ${fields.budget ?? null},
                      ${fields.locale ?? null}, 'guest', 'sess_1')`.execute(db)
        await lead('a', {
          name: 'Ame\u0301lie',
          company: 'Cafe\u0301',
          message: 'Re\u0301sume\u0301',
          interest: 'pre\u0301mium',
          budget: '1\u00a0000 \u20ac',
          locale: 'EN-us',
        })
        await lead('b', { name: 'Ada', locale: 'pt_br' })
        await lead('c', { name: null, locale: 'not a tag at all' })
        const before = await sql<{
          updated_at: Date
        }>`select updated_at from service_quote_main where id = 'a'`.execute(db)

        assert.ok((await migrateToLatest(db)).includes(MIGRATION))
        const rows = await sql<Record<string, string | null>>`
          select id, name, company, message, interest, budget, locale from service_quote_main order by id`.execute(
          db,
        )
        assert.deepEqual(rows.rows, [
          {
            id: 'a',
            name: 'Am\u00e9lie',
            company: 'Caf\u00e9',
            message: 'R\u00e9sum\u00e9',
            interest: 'pr\u00e9mium',
            budget: '1\u00a0000 \u20ac',
            locale: 'en-US',
          },
          {
            id: 'b',
            name: 'Ada',
            company: null,
            message: null,
            interest: null,
            budget: null,
            locale: 'pt-BR',
          },
          // A tag no canonical form exists for stays as it was: nothing to compare it with.
          {
            id: 'c',
            name: null,
            company: null,
            message: null,
            interest: null,
            budget: null,
            locale: 'not a tag at all',
          },
        ])
        const after = await sql<{
          updated_at: Date
        }>`select updated_at from service_quote_main where id = 'a'`.execute(db)
        assert.deepEqual(after.rows, before.rows, 'a form change is no change of the lead')
      })
    })
  })
}
