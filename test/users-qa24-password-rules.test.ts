import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, json, suiteApp } from './helper.js'

/** The fullwidth form of printable ASCII, as Japanese and Chinese input methods type it. */
function fullwidth(text: string): string {
  return [...text].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')
}

/**
 * A password is stored as its NFKC form (so one typed on another keyboard or input method still
 * matches): the strength rule must judge that form, the one a guesser has to find, not the
 * characters as sent.
 */
for (const dialect of DIALECTS) {
  describe(`password strength judged on the password as stored (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    async function join(slug: string, email: string, password: string) {
      return suite.app.inject({
        method: 'POST',
        url: '/api/user/register',
        payload: { campaign: slug, name: 'Ada', email, password },
      })
    }

    it('refuses the email typed in fullwidth letters, which the stored form spells in ASCII', async () => {
      const slug = await createCampaign(suite.app)
      const local = `ada${randomBytes(3).toString('hex')}`
      const email = `${local}@example.com`
      // Sanity: the same password in ASCII is refused for containing the address.
      const ascii = await join(slug, email, `${local}!9`)
      assert.equal(ascii.statusCode, 400, ascii.body)
      assert.equal(json(ascii).error.code, 'WEAK_PASSWORD')

      const res = await join(slug, email, `${fullwidth(local)}!9`)
      assert.equal(res.statusCode, 400, `fullwidth copy of the address was accepted: ${res.body}`)
      assert.equal(json(res).error.code, 'WEAK_PASSWORD')
      assert.match(JSON.stringify(json(res).error.details), /must not contain your email/)
    })

    it('counts characters as stored: a decomposed accent is one character, not two', async () => {
      const slug = await createCampaign(suite.app)
      const email = `zoe_${randomBytes(4).toString('hex')}@example.com`
      // 11 code points as sent (e + U+0301 three times), 8 characters as stored (é).
      const decomposed = 'ae\u0301ie\u0301oe\u03011!'
      assert.equal([...decomposed].length, 11)
      assert.equal([...decomposed.normalize('NFKC')].length, 8)
      const res = await join(slug, email, decomposed)
      assert.equal(res.statusCode, 400, `an 8-character password was accepted: ${res.body}`)
      assert.equal(json(res).error.code, 'WEAK_PASSWORD')
      assert.match(JSON.stringify(json(res).error.details), /at least 10 characters/)
    })

    it('still accepts a strong password typed decomposed, and it logs in typed composed', async () => {
      const slug = await createCampaign(suite.app)
      const email = `zoe_${randomBytes(4).toString('hex')}@example.com`
      const decomposed = 'Cafe\u0301 au lait 42'
      const res = await join(slug, email, decomposed)
      assert.equal(res.statusCode, 201, res.body)
      const login = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email, password: decomposed.normalize('NFC') },
      })
      assert.equal(login.statusCode, 200, login.body)
    })
  })
}
