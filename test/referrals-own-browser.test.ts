import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'

const PASSWORD = 'correct horse 42'

interface Joined {
  user: { id: string; email: string; referral_code: string }
  token: string
  session_id: string
  referral?: { status: string; code?: string }
}

const mail = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`
const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`

/** A join over REST, presenting `token` when given (the browser's current one). */
async function join(
  app: FastifyInstance,
  campaign: string,
  fields: { name: string; token?: string; referral_code?: string; password?: string },
): Promise<Joined> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: {
      'x-forwarded-for': ip(),
      ...(fields.token ? { authorization: `Bearer ${fields.token}` } : {}),
    },
    payload: {
      campaign,
      email: mail(fields.name.toLowerCase()),
      name: fields.name,
      ...(fields.password ? { password: fields.password } : {}),
      ...(fields.referral_code ? { referral_code: fields.referral_code } : {}),
    },
  })
  assert.equal(res.statusCode, 201, res.body)
  return json(res)
}

for (const dialect of DIALECTS) {
  describe(`a second account made while logged in (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
    })
    after(() => ctx.close())

    const qualified = async (slug: string, referrerId: string) => {
      const row = await app.platform.database.db
        .selectFrom('service_referral_counter')
        .select('qualified')
        .where('campaign_slug', '=', slug)
        .where('user_id', '=', referrerId)
        .executeTakeFirst()
      return row?.qualified ?? 0
    }

    it('refuses the referrer’s code at the join, however their token was had', async () => {
      const slug = await createCampaign(app)
      // Ann joined from her browser's guest session; her user token is of that session.
      const guest = await guestToken(app)
      const ann = await join(app, slug, { name: 'Ann', token: guest.token, password: PASSWORD })
      assert.equal(ann.session_id, guest.session_id)

      // Logged in as Ann, the browser joins as Bob with Ann's code: Bob gets a session of his own,
      // and the referral is still Ann's own.
      const bob = await join(app, slug, {
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
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': ip() },
        payload: { email: ann.user.email, password: PASSWORD },
      })
      assert.equal(login.statusCode, 200, login.body)
      const elsewhere = json<Joined>(login)
      assert.notEqual(elsewhere.session_id, ann.session_id)
      const cy = await join(app, slug, {
        name: 'Cy',
        token: elsewhere.token,
        referral_code: ann.user.referral_code,
      })
      assert.equal(cy.referral?.code, 'OWN_REFERRAL_CODE')
      assert.equal(await qualified(slug, ann.user.id), 0)

      // Dee joined from Ann's browser session before her: a code of that session is Ann's own too.
      const dee = await join(app, slug, { name: 'Dee', token: guest.token })
      const eve = await join(app, slug, {
        name: 'Eve',
        token: ann.token,
        referral_code: dee.user.referral_code,
      })
      assert.equal(eve.referral?.code, 'OWN_REFERRAL_CODE')
      assert.equal(await qualified(slug, dee.user.id), 0)

      // Through the action endpoint alike.
      const action = await app.inject({
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
      assert.equal(await qualified(slug, ann.user.id), 0)
    })

    it('refuses the referrer’s code applied later by the account made from their logged-in browser', async () => {
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const ann = await join(app, slug, { name: 'Ann', token: guest.token })
      const dee = await join(app, slug, { name: 'Dee', token: guest.token })
      const gus = await join(app, slug, { name: 'Gus' })
      // Logged in as Ann, the browser joins as Bob, no code given; Bob applies one afterwards.
      const bob = await join(app, slug, { name: 'Bob', token: ann.token })
      assert.notEqual(bob.session_id, ann.session_id)
      for (const code of [ann.user.referral_code, dee.user.referral_code]) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/referral',
          headers: { authorization: `Bearer ${bob.token}`, 'x-forwarded-for': ip() },
          payload: { campaign: slug, code },
        })
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(json(res).error.code, 'OWN_REFERRAL_CODE')
      }
      const action = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${bob.token}`, 'x-forwarded-for': ip() },
        payload: { action: 'apply_referral', data: { code: ann.user.referral_code } },
      })
      assert.equal(action.statusCode, 422, action.body)
      assert.equal(json(action).error.code, 'OWN_REFERRAL_CODE')
      // Someone else's code still counts.
      const ok = await app.inject({
        method: 'POST',
        url: '/api/referral',
        headers: { authorization: `Bearer ${bob.token}`, 'x-forwarded-for': ip() },
        payload: { campaign: slug, code: gus.user.referral_code },
      })
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(await qualified(slug, ann.user.id), 0)
      assert.equal(await qualified(slug, gus.user.id), 1)
    })

    it('still counts the code of someone else given by a person joining from a logged-in browser', async () => {
      const slug = await createCampaign(app)
      const gus = await join(app, slug, { name: 'Gus' })
      const ann = await join(app, slug, { name: 'Ann' })
      const hal = await join(app, slug, {
        name: 'Hal',
        token: ann.token,
        referral_code: gus.user.referral_code,
      })
      assert.deepEqual(hal.referral, { status: 'qualified' })
      assert.equal(await qualified(slug, gus.user.id), 1)
    })
  })
}
