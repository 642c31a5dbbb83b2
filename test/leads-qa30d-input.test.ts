// QA pass 30d: leads.
// - An editor setting a lead's status to the one it has (a double click, a retried PATCH) was 409
//   `INVALID_TRANSITION`; it is an idempotent 200 that changes, announces and queues nothing.
// - Names and the list's `q` were not NFC-normalised: "é" typed as e + U+0301 (macOS input, a
//   paste from a PDF) did not find a stored precomposed "é", nor the other way round.
// - An email whose domain is an IP literal (`a@[127.0.0.1]`, `a@127.0.0.1`) was taken as a lead.
// - `locale` was stored as typed (`EN-us`, `pt_br`); it is canonical (`en-US`, `pt-BR`).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  adminHeaders,
  captureFrames,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  suiteApp,
} from './helper.js'
import { FAST_WEBHOOKS, receiver, subscribe } from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`leads, pass 30d (${dialect})`, () => {
    const s = suiteApp({ dialect, env: FAST_WEBHOOKS })

    async function submit(slug: string, fields: Record<string, unknown>) {
      const { token } = await guestToken(s.app)
      return s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, ...fields },
      })
    }
    const getLead = async (slug: string, id: string) =>
      json(await s.app.inject({ url: `/api/campaign/${slug}/leads/${id}`, headers: adminHeaders }))
    const patch = (slug: string, id: string, status: string) =>
      s.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/${id}`,
        headers: adminHeaders,
        payload: { status },
      })
    const queued = async (slug: string, id: string) =>
      (
        await s.app.platform.database.db
          .selectFrom('service_notification_outbox')
          .select('event')
          .where('campaign_slug', '=', slug)
          .where('subject_id', '=', id)
          .orderBy('id')
          .execute()
      ).map((r) => r.event)

    it('answers a PATCH to the status a lead already has 200, changing and emitting nothing', async () => {
      const slug = await createCampaign(s.app)
      const crm = await receiver()
      try {
        await subscribe(s.app, slug, crm, ['*'])
        const sent = await submit(slug, { name: 'Ada', email: 'same.status@example.com' })
        assert.equal(sent.statusCode, 200, sent.body)
        const id = json(sent).result.lead_id
        const asNew = await getLead(slug, id)
        const first = await patch(slug, id, 'contacted')
        assert.equal(first.statusCode, 200, first.body)
        const contacted = json(first)
        const queuedBefore = await queued(slug, id)
        assert.deepEqual(queuedBefore, ['lead.created', 'lead.updated'])

        const frames: unknown[] = []
        const stop = await captureFrames(s.app, (m) => frames.push(m))
        try {
          const again = await patch(slug, id, 'contacted')
          assert.equal(again.statusCode, 200, again.body)
          assert.deepEqual(json(again), contacted, 'the lead as it was, updated_at included')
          assert.deepEqual(await getLead(slug, id), contacted)
          assert.deepEqual(await queued(slug, id), queuedBefore, 'no webhook queued')
          assert.deepEqual(frames, [], 'no campaign_event or notification published')
        } finally {
          await stop()
        }

        // A closed lead too: won → won is no transition, and no error.
        assert.equal((await patch(slug, id, 'qualified')).statusCode, 200)
        const won = json(await patch(slug, id, 'won'))
        const wonAgain = await patch(slug, id, 'won')
        assert.equal(wonAgain.statusCode, 200, wonAgain.body)
        assert.deepEqual(json(wonAgain), won)
        // A real transition from a closed lead is still refused.
        assert.equal(json(await patch(slug, id, 'lost')).error.code, 'INVALID_TRANSITION')

        // new → new on a fresh lead.
        const other = json(await submit(slug, { name: 'Bo', email: 'still.new@example.com' })).result.lead_id
        const fresh = await getLead(slug, other)
        const stay = await patch(slug, other, 'new')
        assert.equal(stay.statusCode, 200, stay.body)
        assert.deepEqual(json(stay), fresh)
        assert.deepEqual(await queued(slug, other), ['lead.created'])
        assert.equal(asNew.status, 'new')
      } finally {
        await crm.close()
      }
    })

    it('stores names and free text in NFC, and `q` finds them however "é" was typed', async () => {
      const slug = await createCampaign(s.app)
      const decomposed = 'Ame\u0301lie Ce\u0301sar'
      const precomposed = 'Am\u00e9lie C\u00e9sar'
      const a = await submit(slug, {
        name: decomposed,
        email: 'amelie@example.com',
        company: 'Soci\u00e9te\u0301 Ge\u0301ne\u0301rale',
        message: 'Bonjour, caf\u0065\u0301 ?',
        interest: 'Re\u0301seau',
        budget: '10\u00a0000 \u20ac, ne\u0301gociable',
      })
      assert.equal(a.statusCode, 200, a.body)
      const stored = await getLead(slug, json(a).result.lead_id)
      assert.equal(stored.name, precomposed)
      assert.equal(stored.company, 'Soci\u00e9t\u00e9 G\u00e9n\u00e9rale')
      assert.equal(stored.message, 'Bonjour, caf\u00e9 ?')
      assert.equal(stored.interest, 'R\u00e9seau')
      assert.equal(stored.budget, '10\u00a0000 \u20ac, n\u00e9gociable')

      const b = await sendAction(s.app, slug, (await guestToken(s.app)).token, 'quote.submit', {
        name: 'Jos\u00e9',
        email: 'jose@example.com',
      })
      assert.equal(b.statusCode, 200, b.body)

      const search = async (q: string, extra = '') =>
        json(
          await s.app.inject({
            url: `/api/campaign/${slug}/leads?q=${encodeURIComponent(q)}${extra}`,
            headers: adminHeaders,
          }),
        ).leads.map((l: { name: string }) => l.name)
      assert.deepEqual(await search('Ame\u0301lie'), [precomposed])
      assert.deepEqual(await search('Am\u00e9lie'), [precomposed])
      assert.deepEqual(await search('Jose\u0301'), ['Jos\u00e9'])
      assert.deepEqual(await search('Ge\u0301ne\u0301rale'), [precomposed], 'company')
      assert.deepEqual(
        json(
          await s.app.inject({
            url: `/api/campaign/${slug}/leads?interest=${encodeURIComponent('Re\u0301seau')}`,
            headers: adminHeaders,
          }),
        ).leads.map((l: { name: string }) => l.name),
        [precomposed],
        'the interest filter',
      )
      const csv = await s.app.inject({
        url: `/api/campaign/${slug}/leads.csv?q=${encodeURIComponent('Jose\u0301')}`,
        headers: adminHeaders,
      })
      assert.equal(csv.statusCode, 200, csv.body)
      assert.match(csv.body, /Jos\u00e9/)
      assert.doesNotMatch(csv.body, /Am\u00e9lie/)
    })

    it('refuses an email whose domain is an IP address, as any invalid email', async () => {
      const slug = await createCampaign(s.app)
      for (const email of [
        'a@[127.0.0.1]',
        'a@127.0.0.1',
        'a@[IPv6:::1]',
        'a@[IPv6:2001:db8::1]',
        'a@10.0.0.1',
        'a@8.8.8.8',
      ]) {
        const res = await submit(slug, { name: 'Ada', email })
        assert.equal(res.statusCode, 400, `${email}: ${res.body}`)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          error.details.map((d: { field: string }) => d.field),
          ['email'],
          email,
        )
      }
      // A domain whose labels are digits but which has a real TLD stays an email.
      const ok = await submit(slug, { name: 'Ada', email: 'a@123.example.com' })
      assert.equal(ok.statusCode, 200, ok.body)
      const total = json(
        await s.app.inject({ url: `/api/campaign/${slug}/leads`, headers: adminHeaders }),
      ).total
      assert.equal(total, 1)
    })

    it('stores locale in its canonical form and refuses a tag that is no locale', async () => {
      const slug = await createCampaign(s.app)
      const cases: Array<[string, string]> = [
        ['EN-us', 'en-US'],
        ['pt_br', 'pt-BR'],
        ['ZH-hant-TW', 'zh-Hant-TW'],
        ['de', 'de'],
      ]
      for (const [i, [locale, canonical]] of cases.entries()) {
        const res = await submit(slug, { name: 'Ada', email: `loc${i}@example.com`, locale })
        assert.equal(res.statusCode, 200, `${locale}: ${res.body}`)
        assert.equal((await getLead(slug, json(res).result.lead_id)).locale, canonical, locale)
      }
      for (const locale of ['en-US-US', 'de-DE-1996-1996', 'zh-min-nan']) {
        const res = await submit(slug, { name: 'Ada', email: 'badloc@example.com', locale })
        assert.equal(res.statusCode, 400, `${locale}: ${res.body}`)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          error.details.map((d: { field: string }) => d.field),
          ['locale'],
          locale,
        )
      }
    })
  })
}
