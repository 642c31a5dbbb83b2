// QA pass 27 on the lead form: a name that shows nothing (only zero-width, filler or combining
// characters) was refused with the generic "one line of 1 to 200 characters" hint, which it
// already is; the person is now told what is wrong with it, on both routes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, sendAction, suiteApp } from './helper.js'

const VISIBLE = 'name must contain a visible character'

for (const dialect of DIALECTS) {
  describe(`a lead name that shows nothing, pass 27 (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('is refused on both routes with a message that says so', async () => {
      // Every refusal counts against the submitter's budget (10 per 10 min by default).
      const slug = await createCampaign(s.app, {
        metadata: { custom_rules: { quote_rate_limit: { max: 100, window_seconds: 600 } } },
      })
      const { token } = await guestToken(s.app)
      const names = [
        '\u200B',
        '\u200B\u200D',
        ' \u3164 ',
        '\u2800',
        '\uFE0F',
        '\u0301',
        '\u200B'.repeat(300),
        '  ',
      ]
      for (const name of names) {
        const payload = { name, email: 'ada@example.com' }
        const rest = await s.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${token}` },
          payload: { campaign: slug, ...payload },
        })
        const action = await sendAction(s.app, slug, token, 'quote.submit', payload)
        for (const res of [rest, action]) {
          assert.equal(res.statusCode, 400, `${JSON.stringify(name)}: ${res.body}`)
          assert.deepEqual(
            json(res).error.details.map((d: { field: string; message: string }) => [d.field, d.message]),
            [['name', VISIBLE]],
            JSON.stringify(name),
          )
        }
      }
      // Other faults of a name keep their own message; a name that shows something is taken.
      const twoLines = await s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: 'Ada\u2028Lovelace', email: 'ada@example.com' },
      })
      assert.match(json(twoLines).error.details[0].message, /^name must be one line/)
      const taken = await s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: '\u200BAda\uFE0F', email: 'ada@example.com' },
      })
      assert.equal(taken.statusCode, 200, taken.body)
      const list = await s.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads`,
        headers: adminHeaders,
      })
      assert.equal(json(list).total, 1)
    })
  })
}
