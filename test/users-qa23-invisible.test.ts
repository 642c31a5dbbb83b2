import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, json, suiteApp } from './helper.js'

/**
 * Characters that draw nothing but are not format characters (Unicode's other default-ignorable
 * code points) in an address: each would make a second account that reads exactly as a member's.
 */
const INVISIBLE = {
  'variation selector 16': '\uFE0F',
  'combining grapheme joiner': '\u034F',
  'Hangul filler': '\u3164',
  'Hangul choseong filler': '\u115F',
  'Mongolian free variation selector': '\u180B',
  'Khmer inherent vowel': '\u17B4',
  'variation selector 17': '\u{E0100}',
}

for (const dialect of DIALECTS) {
  describe(`invisible characters in an address (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('are refused with 400 at a join and a login, as a zero-width space is', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const local = `ada_${randomBytes(4).toString('hex')}`
      const first = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        payload: { campaign: slug, name: 'Ada', email: `${local}@example.com` },
      })
      assert.equal(first.statusCode, 201, first.body)
      for (const [what, char] of Object.entries(INVISIBLE)) {
        for (const email of [`${local}${char}@example.com`, `${local}@exam${char}ple.com`]) {
          const join = await app.inject({
            method: 'POST',
            url: '/api/user/register',
            payload: { campaign: slug, name: 'Ada', email },
          })
          assert.equal(join.statusCode, 400, `${what} in ${JSON.stringify(email)}: ${join.body}`)
          assert.equal(json(join).error.code, 'VALIDATION_FAILED')
          assert.match(JSON.stringify(json(join).error.details), /email/)
          const login = await app.inject({
            method: 'POST',
            url: '/api/auth/login',
            payload: { email, password: 'correct horse 42' },
          })
          assert.equal(login.statusCode, 400, `login, ${what}: ${login.body}`)
        }
      }
      // Letters with marks that do draw, in any script, stay addresses.
      for (const email of [`zoë_${local}@example.com`, `李_${local}@例え.jp`]) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, name: 'Zoë', email },
        })
        assert.equal(res.statusCode, 201, `${email}: ${res.body}`)
      }
    })
  })
}
