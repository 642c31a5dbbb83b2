import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'
import {
  applyReferral,
  ip,
  type Joined,
  join,
  mail,
  PASSWORD,
  qualifiedReferrals,
} from './people-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`a second account made while logged in (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('refuses the referrer’s code at the join, however their token was had', async () => {
      const slug = await createCampaign(suite.app)
      // Ann joined from her browser's guest session; her user token is of that session.
      const guest = await guestToken(suite.app)
      const ann = await join(suite.app, slug, { name: 'Ann', token: guest.token, password: PASSWORD })
      assert.equal(ann.session_id, guest.session_id)

      // Logged in as Ann, the browser joins as Bob with Ann's code: Bob gets a session of his own,
      // and the referral is still Ann's own.
      const bob = await join(suite.app, slug, {
        name: 'Bob',
        token: ann.token,
        referral_code: ann.user.referral_code,
      })
      assert.notEqual(bob.session_id, ann.session_id)
      assert.deepEqual(bob.referral, {
        status: 'refused',
        code: 'OWN_REFERRAL_CODE',
        message: 'You cannot use your own referral code',
      })

      // The same with a token from a password login, whose session no membership names.
      const login = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': ip() },
        payload: { email: ann.user.email, password: PASSWORD },
      })
      assert.equal(login.statusCode, 200, login.body)
      const elsewhere = json<Joined>(login)
      assert.notEqual(elsewhere.session_id, ann.session_id)
      const cy = await join(suite.app, slug, {
        name: 'Cy',
        token: elsewhere.token,
        referral_code: ann.user.referral_code,
      })
      assert.equal(cy.referral?.code, 'OWN_REFERRAL_CODE')
      assert.equal(await qualifiedReferrals(suite.app, slug, ann.user.id), 0)

      // Dee joined from Ann's browser session before her: a code of that session is Ann's own too.
      const dee = await join(suite.app, slug, { name: 'Dee', token: guest.token })
      const eve = await join(suite.app, slug, {
        name: 'Eve',
        token: ann.token,
        referral_code: dee.user.referral_code,
      })
      assert.equal(eve.referral?.code, 'OWN_REFERRAL_CODE')
      assert.equal(await qualifiedReferrals(suite.app, slug, dee.user.id), 0)

      // Through the action endpoint alike.
      const action = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${ann.token}`, 'x-forwarded-for': ip() },
        payload: {
          action: 'register',
          data: { email: mail('fay'), name: 'Fay', referral_code: ann.user.referral_code },
        },
      })
      assert.equal(action.statusCode, 200, action.body)
      assert.equal(json(action).result.referral?.code, 'OWN_REFERRAL_CODE')
      assert.equal(await qualifiedReferrals(suite.app, slug, ann.user.id), 0)
    })

    it('refuses the referrer’s code applied later by the account made from their logged-in browser', async () => {
      const slug = await createCampaign(suite.app)
      const guest = await guestToken(suite.app)
      const ann = await join(suite.app, slug, { name: 'Ann', token: guest.token })
      const dee = await join(suite.app, slug, { name: 'Dee', token: guest.token })
      const gus = await join(suite.app, slug, { name: 'Gus' })
      // Logged in as Ann, the browser joins as Bob, no code given; Bob applies one afterwards.
      const bob = await join(suite.app, slug, { name: 'Bob', token: ann.token })
      assert.notEqual(bob.session_id, ann.session_id)
      for (const code of [ann.user.referral_code, dee.user.referral_code]) {
        const res = await applyReferral(suite.app, slug, bob.token, code)
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(json(res).error.code, 'OWN_REFERRAL_CODE')
      }
      const action = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${bob.token}`, 'x-forwarded-for': ip() },
        payload: { action: 'apply_referral', data: { code: ann.user.referral_code } },
      })
      assert.equal(action.statusCode, 422, action.body)
      assert.equal(json(action).error.code, 'OWN_REFERRAL_CODE')
      // Someone else's code still counts.
      const ok = await applyReferral(suite.app, slug, bob.token, gus.user.referral_code)
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(await qualifiedReferrals(suite.app, slug, ann.user.id), 0)
      assert.equal(await qualifiedReferrals(suite.app, slug, gus.user.id), 1)
    })

    it('still counts the code of someone else given by a person joining from a logged-in browser', async () => {
      const slug = await createCampaign(suite.app)
      const gus = await join(suite.app, slug, { name: 'Gus' })
      const ann = await join(suite.app, slug, { name: 'Ann' })
      const hal = await join(suite.app, slug, {
        name: 'Hal',
        token: ann.token,
        referral_code: gus.user.referral_code,
      })
      assert.deepEqual(hal.referral, { status: 'qualified' })
      assert.equal(await qualifiedReferrals(suite.app, slug, gus.user.id), 1)
    })
  })
}
