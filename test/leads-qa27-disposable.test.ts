// QA pass 27 on disposable addresses (`block_disposable_emails` on the lead form, and the
// referral rule, which share one lookup): a subdomain of a listed throwaway domain
// (`bot@abc.guerrillamail.com`) was taken unless the list's wildcard file named the parent, and
// a listed domain written in the other form (Unicode or `xn--`) than the list's was taken too.
// A parent that is a public suffix (`edu.pl`, `za.com`, both on the list) is no reason to refuse
// the people who register names under it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isDisposableEmail } from '../src/modules/user/email.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

describe('isDisposableEmail, pass 27', () => {
  it('refuses a listed domain and any subdomain of it, down to the registrable domain', () => {
    for (const email of [
      'bot@guerrillamail.com',
      'bot@abc.guerrillamail.com',
      'bot@a.b.c.guerrillamail.com',
      'Bot@ABC.GuerrillaMail.com',
      'bot@abc.guerrillamail.com.',
      // The wildcard file's entries, as before.
      'bot@mailinator.com',
      'bot@abc.mailinator.com',
      'bot@x.y.ddns.net',
    ]) {
      assert.equal(isDisposableEmail(email), true, email)
    }
  })

  it('finds a listed internationalised domain in either form', () => {
    // The list holds `desayuno-étnico.info` in Unicode and `5801000.xn--p1ai` in ASCII.
    for (const email of [
      'bot@desayuno-étnico.info',
      'bot@xn--desayuno-tnico-jkb.info',
      'bot@sub.desayuno-étnico.info',
      'bot@5801000.xn--p1ai',
      'bot@5801000.рф',
      'bot@sub.5801000.рф',
    ]) {
      assert.equal(isDisposableEmail(email), true, email)
    }
  })

  it('never refuses for a public suffix on the list, nor for a bare top-level domain', () => {
    for (const email of [
      'ada@example.com',
      'ada@uw.edu.pl',
      'ada@student.uw.edu.pl',
      'ada@acme.za.com',
      'ada@example.co.uk',
      'ada@guerrillamail.com.example.org',
      'not an address',
      'ada@',
    ]) {
      assert.equal(isDisposableEmail(email), false, email)
    }
    // What the list names itself stays refused.
    assert.equal(isDisposableEmail('ada@edu.pl'), true)
  })
})

for (const dialect of DIALECTS) {
  describe(`disposable lead addresses, pass 27 (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('refuses a subdomain of a listed domain when the campaign blocks disposable addresses', async () => {
      const slug = await createCampaign(s.app, {
        metadata: { custom_rules: { block_disposable_emails: true } },
      })
      const { token } = await guestToken(s.app)
      const submit = (email: string) =>
        s.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${token}` },
          payload: { campaign: slug, name: 'Ada', email },
        })
      for (const email of ['bot@abc.guerrillamail.com', 'bot@sub.desayuno-étnico.info']) {
        const res = await submit(email)
        assert.equal(res.statusCode, 422, `${email}: ${res.body}`)
        assert.equal(json(res).error.code, 'DISPOSABLE_EMAIL')
      }
      for (const email of ['ada@student.uw.edu.pl', 'ada@acme.za.com']) {
        const res = await submit(email)
        assert.equal(res.statusCode, 200, `${email}: ${res.body}`)
      }
      const list = await s.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads`,
        headers: adminHeaders,
      })
      assert.deepEqual((json(list).leads as Array<{ email: string }>).map((l) => l.email).sort(), [
        'ada@acme.za.com',
        'ada@student.uw.edu.pl',
      ])
    })
  })
}
