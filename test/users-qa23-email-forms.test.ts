import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { accountEmail, earlierEmails, normaliseEmail, storedForms } from '../src/modules/user/email.js'
import { createCampaign, DIALECTS, json, suiteApp } from './helper.js'

/**
 * Forms of one address that the join form takes and mail delivers to one mailbox, which must be
 * one person, not a second account beside them (with a login budget and referral checks of its
 * own): a domain ended by a full stop IDNA maps to `.` (ideographic `。`, fullwidth `．`,
 * halfwidth `｡`), where an ASCII dot may not end it (`example.com｡` is the fully qualified
 * `example.com.`); a local part typed in fullwidth by an input method (`ａｄａ`); and a Turkish
 * keyboard's capital `İ`, which lower-cases to i with a combining dot above.
 */

const PASSWORD = 'correct horse 42'
const tag = () => randomBytes(4).toString('hex')
let networks = 0
const network = () => `10.123.${++networks}.9`

function register(app: FastifyInstance, payload: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/api/user/register',
    payload: { name: 'Ada', ...payload },
    headers: { 'x-forwarded-for': network() },
  })
}

for (const dialect of DIALECTS) {
  describe(`look-alike forms of one address (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('is the same person as the plain address: 409 to others, the owner logs in', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const local = `ada_${tag()}`
      const first = await register(app, { campaign: slug, email: `${local}@example.com`, password: PASSWORD })
      assert.equal(first.statusCode, 201, first.body)
      const ada = json(first).user

      const fullwidth = [...local].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')
      const typings = [
        ...['｡', '．', '。', '。。'].map((stop) => `${local}@EXAMPLE.com${stop}`),
        `${fullwidth}@example.com`,
        `${fullwidth.toUpperCase()}@example.com。`,
      ]
      for (const email of typings) {
        const again = await register(app, { campaign: slug, email })
        assert.equal(again.statusCode, 409, `${email}: ${again.body}`)
        assert.equal(json(again).error.code, 'EMAIL_TAKEN')
        const login = await app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email, password: PASSWORD },
          headers: { 'x-forwarded-for': network() },
        })
        assert.equal(login.statusCode, 200, `${email}: ${login.body}`)
        assert.equal(json(login).user.id, ada.id)
      }

      // Someone new who types one is stored in the plain form, and found by it.
      const bob = await register(app, {
        campaign: slug,
        name: 'Bob',
        email: `ＢＯＢ_${tag()}@example.com。`,
        password: PASSWORD,
      })
      assert.equal(bob.statusCode, 201, bob.body)
      const stored = json(bob).user.email
      assert.match(stored, /^bob_[0-9a-f]{8}@example\.com$/)
      const plain = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: stored, password: PASSWORD },
        headers: { 'x-forwarded-for': network() },
      })
      assert.equal(plain.statusCode, 200, plain.body)
      assert.equal(json(plain).user.id, json(bob).user.id)
    })

    it('takes a Turkish capital İ in an address as the i it is typed for', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const local = `ismail_${tag()}`
      const first = await register(app, { campaign: slug, name: 'İsmail', email: `${local}@example.com` })
      assert.equal(first.statusCode, 201, first.body)
      // A phone's Turkish keyboard capitalises the first letter: `İsmail…`, or `İSMAİL…` with caps lock.
      for (const email of [
        `İ${local.slice(1)}@example.com`,
        `${local.toUpperCase().replaceAll('I', 'İ')}@example.com`,
      ]) {
        const again = await register(app, { campaign: slug, name: 'İsmail', email })
        assert.equal(again.statusCode, 409, `${email}: ${again.body}`)
        assert.equal(json(again).error.code, 'EMAIL_TAKEN')
      }
    })

    it('is no way round the own-referral rule: the same mailbox is the referrer’s own', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const local = `ann_${tag()}`
      const ann = await register(app, { campaign: slug, name: 'Ann', email: `${local}@example.com` })
      assert.equal(ann.statusCode, 201, ann.body)
      const second = await register(app, {
        campaign: slug,
        name: 'Ann again',
        email: `${local}+2@example.com｡`,
        referral_code: json(ann).user.referral_code,
      })
      assert.equal(second.statusCode, 201, second.body)
      assert.equal(json(second).referral?.code, 'OWN_REFERRAL_CODE', second.body)
    })
  })
}

describe('an account stored in a form before these were folded', () => {
  it('is still found as its owner types it, and erasure looks for its leads under both forms', () => {
    assert.equal(normaliseEmail(' Ada@Example.COM｡ '), 'ada@example.com')
    assert.equal(normaliseEmail('ada@exämple.com．'), 'ada@exämple.com')
    assert.equal(accountEmail('ＡＤＡ＋ｎｅｗｓ@example.com｡'), 'ada+news@example.com')
    assert.equal(accountEmail('ａ\u0301da@example.com'), '\u00e1da@example.com')
    assert.equal(accountEmail('ada＠evil.com@example.com'), 'ada＠evil.com@example.com')
    // Leads keep their form's rule (ASCII before the @, said so): only the domain is folded.
    assert.equal(normaliseEmail('ＡＤＡ@example.com｡'), 'ａｄａ@example.com')
    assert.ok(earlierEmails('ada@example.com｡').includes('ada@example.com.'))
    assert.ok(earlierEmails('ＡＤＡ@example.com').includes('ａｄａ@example.com'))
    assert.ok(earlierEmails('İSMAİL@example.com').includes('i\u0307smai\u0307l@example.com'))
    assert.deepEqual(storedForms('ada@exämple.com.').sort(), [
      'ada@exämple.com',
      'ada@exämple.com.',
      'ada@xn--exmple-cua.com',
      'ada@xn--exmple-cua.com.',
    ])
  })
})
