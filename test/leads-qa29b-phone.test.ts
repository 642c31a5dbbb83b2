// QA pass 29b: the lead form refused phone numbers as people write them: typed in fullwidth (a
// Japanese or Chinese input method: `０３－１２３４－５６７８`), pasted with a no-break space or an
// en dash, written with a slash (`0221/1234567`, usual in German-speaking countries) or with an
// extension (`ext. 23`, `x23`, `#23`, which B2B forms such as HubSpot's take). Each was 400 naming
// `phone` though it held the digits. They are stored in plain ASCII; punctuation alone is still refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, sendAction, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`lead phone numbers as people write them, pass 29b (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('takes fullwidth digits, pasted spaces and dashes, slashes and extensions, stored as ASCII', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const cases: Array<[string, string]> = [
        ['０３－１２３４－５６７８', '03-1234-5678'],
        ['＋８１ ９０ １２３４ ５６７８', '+81 90 1234 5678'],
        ['+44\u00a020\u00a07946\u00a00958', '+44 20 7946 0958'],
        ['+1 555\u2013010\u20130100', '+1 555-010-0100'],
        ['0221/1234567', '0221/1234567'],
        ['+1 555 010 0100 ext. 23', '+1 555 010 0100 ext. 23'],
        ['+1 (555) 010-0100 x23', '+1 (555) 010-0100 x23'],
        ['555-0100 #23', '555-0100 #23'],
      ]
      for (const [i, [phone, stored]] of cases.entries()) {
        const res =
          i % 2 === 0
            ? await s.app.inject({
                method: 'POST',
                url: '/api/quote',
                headers: { authorization: `Bearer ${token}` },
                payload: { campaign: slug, name: 'Ada', email: `p${i}@example.com`, phone },
              })
            : await sendAction(s.app, slug, token, 'quote.submit', {
                name: 'Ada',
                email: `p${i}@example.com`,
                phone,
              })
        assert.equal(res.statusCode, 200, `${JSON.stringify(phone)}: ${res.body}`)
        const lead = json(
          await s.app.inject({
            method: 'GET',
            url: `/api/campaign/${slug}/leads/${json(res).result.lead_id}`,
            headers: adminHeaders,
          }),
        )
        assert.equal(lead.phone, stored, JSON.stringify(phone))
      }
    })

    it('still refuses punctuation, letters, and an extension with too few digits before it', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      for (const phone of [
        '－－－－－',
        '12/34',
        'call me',
        '12 x34567',
        'ext. 12345',
        '12345 ext.',
        '12345 ext 1234567',
      ]) {
        const res = await s.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${token}` },
          payload: { campaign: slug, name: 'Ada', email: 'ada@example.com', phone },
        })
        assert.equal(res.statusCode, 400, `${JSON.stringify(phone)}: ${res.body}`)
        assert.deepEqual(
          json(res).error.details.map((d: { field: string }) => d.field),
          ['phone'],
        )
        assert.match(json(res).error.details[0].message, /extension/)
      }
    })
  })
}
