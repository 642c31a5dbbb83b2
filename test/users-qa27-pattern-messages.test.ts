import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

/**
 * A join refused for its display name, consent version, email or locale said what was wrong as
 * the validator's regular expression (`must match pattern "^(?![\s\S]*(?:\p{M}\p{Cf}*){4}…"`), over
 * REST and the action alike: nothing a person (or the developer of a form) can act on. Each field
 * now says it in words; the field and path are unchanged.
 */
const CASES: { field: string; data: Record<string, unknown>; message: RegExp }[] = [
  { field: 'name', data: { name: '\u200B\u3164' }, message: /^must show something/ },
  { field: 'name', data: { name: 'Ada\u202Eevil' }, message: /bidirectional/ },
  { field: 'email', data: { email: 'ada\u200B@example.com' }, message: /^must be an email address/ },
  { field: 'locale', data: { locale: 'english' }, message: /^must be a language tag/ },
  {
    field: 'consent/text_version',
    data: { consent: { text_version: '\u200B' } },
    message: /^must show something/,
  },
]

for (const dialect of DIALECTS) {
  describe(`a refused join says what is wrong in words (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('over REST and the action endpoint, never as a regular expression', async () => {
      const slug = await createCampaign(suite.app)
      const { token } = await guestToken(suite.app)
      for (const { field, data, message } of CASES) {
        const payload = { name: 'Ada', email: 'ada@example.com', ...data }
        const rest = await suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, ...payload },
        })
        const action = await suite.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: { action: 'register', data: payload },
        })
        for (const [via, res, path] of [
          ['REST', rest, `/${field}`],
          ['action', action, `/data/${field}`],
        ] as const) {
          assert.equal(res.statusCode, 400, `${via} ${field}: ${res.body}`)
          const { error } = json(res)
          assert.equal(error.code, 'VALIDATION_FAILED')
          const detail = (error.details as { path: string; message: string }[]).find((d) => d.path === path)
          assert.ok(detail, `${via} ${field}: no detail at ${path}: ${res.body}`)
          assert.match(detail.message, message, `${via} ${field}`)
          assert.doesNotMatch(detail.message, /pattern/, `${via} ${field}`)
        }
      }
    })
  })
}
