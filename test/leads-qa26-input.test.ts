// QA pass 26 on the lead form's input (issue 4, "Leads"): what the form refused on both routes
// (`POST /api/quote` and the `quote.submit` action) but let through before: bidi overrides and
// Unicode line separators in one-line fields, a name that shows nothing, a language tag of any
// length, a phone of punctuation only, and an unknown field named like an Object method answered with no message.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, sendAction, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`lead form input, pass 26 (${dialect})`, () => {
    const s = suiteApp({ dialect })

    /** The same fields on both routes: each answer, then how many leads the campaign holds. */
    async function bothRoutes(fields: Record<string, unknown>) {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const payload = { name: 'Ada', email: 'ada@example.com', ...fields }
      const rest = await s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, ...payload },
      })
      const action = await sendAction(s.app, slug, token, 'quote.submit', payload)
      const list = await s.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads`,
        headers: adminHeaders,
      })
      return { answers: [rest, action], stored: json(list).total as number }
    }

    async function refused(fields: Record<string, unknown>, field: string, hint: RegExp) {
      const { answers, stored } = await bothRoutes(fields)
      for (const [k, res] of answers.entries()) {
        const label = `${JSON.stringify(fields)} on ${k === 0 ? 'POST /api/quote' : 'the action'}`
        assert.equal(res.statusCode, 400, `${label}: ${res.body}`)
        const details = json(res).error.details as Array<{ field: string; message: unknown }>
        assert.deepEqual(
          details.map((d) => d.field),
          [field],
          label,
        )
        assert.equal(typeof details[0]!.message, 'string', `${label}: ${res.body}`)
        assert.match(details[0]!.message as string, hint, label)
      }
      assert.equal(stored, 0, `${JSON.stringify(fields)} stored nothing`)
    }

    it('refuses bidi overrides and isolates in every text field, and Unicode line breaks in one-line fields', async () => {
      for (const bidi of [
        '\u202A',
        '\u202B',
        '\u202C',
        '\u202D',
        '\u202E',
        '\u2066',
        '\u2067',
        '\u2068',
        '\u2069',
      ]) {
        await refused({ name: `Ada${bidi}moc.live` }, 'name', /^name must be one line/)
      }
      await refused({ company: 'Acme\u202Egnp.exe' }, 'company', /^company must be one line/)
      await refused({ interest: 'x\u2067y' }, 'interest', /^interest must be one line/)
      await refused({ budget: '\u202E000 01' }, 'budget', /^budget must be/)
      await refused({ message: 'Call me\u202Eback' }, 'message', /^message must be text/)
      // U+2028 and U+2029 break the line as \n does: a second line forged in a one-line field.
      await refused({ name: 'Ada\u2028status: won' }, 'name', /^name must be one line/)
      await refused({ company: 'Acme\u2029Corp' }, 'company', /^company must be one line/)
    })

    it('takes line separators in a message, and names with marks, scripts and emoji', async () => {
      const { answers, stored } = await bothRoutes({ name: 'Zoë 李 ﷺ 😀', message: 'one\u2028two\nthree' })
      for (const res of answers) assert.equal(res.statusCode, 200, res.body)
      assert.equal(stored, 1)
    })

    it('refuses a name that shows nothing (only zero-width or filler characters)', async () => {
      for (const name of ['\u200B', '\u200B\u200D', '\u3164', '\u2800', '\uFE0F']) {
        await refused({ name }, 'name', /^name must contain a visible character$/)
      }
    })

    it('refuses a language tag longer than 35 characters, naming the limit', async () => {
      await refused({ locale: `en${'-abcdefgh'.repeat(4)}` }, 'locale', /at most 35 characters/)
      await refused({ locale: `en${'-abcdefgh'.repeat(10_000)}` }, 'locale', /^locale must be a language tag/)
      const { answers } = await bothRoutes({ locale: 'zh-Hant-TW' })
      for (const res of answers) assert.equal(res.statusCode, 200, res.body)
    })

    it('refuses a phone without 5 digits, and takes the usual ways of writing one', async () => {
      for (const phone of ['-----', '(((((', '. . . . .', '+() -', '12-34', '+1 (55)']) {
        await refused({ phone }, 'phone', /^phone must be .*at least 5 digits/)
      }
      for (const phone of ['+44 20 7946 0958', '(555) 010-0100', '0049.30.1234', '12345']) {
        const { answers } = await bothRoutes({ phone })
        for (const res of answers) assert.equal(res.statusCode, 200, `${phone}: ${res.body}`)
      }
    })

    it('names an unknown field called like an Object method with a message', async () => {
      for (const field of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
        await refused({ [field]: 'x' }, field, new RegExp(`^${field} is not a field of the quote form$`))
      }
    })
  })
}
