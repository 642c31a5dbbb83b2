import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import {
  adminHeaders,
  buildTestApp,
  listenLocally,
  createCampaign,
  DIALECTS,
  guestToken,
  JWT_SECRET,
  json,
  suiteApp,
  type TestContext,
} from './helper.js'
import { CREDENTIALS_REVOKED_CHANNEL } from '../src/platform/auth/revoked.js'
import {
  applyReferral,
  bearer,
  ip,
  type Joined,
  join,
  mail,
  PASSWORD,
  qualifiedReferrals,
} from './people-fixtures.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'

async function logIn(app: FastifyInstance, email: string, token?: string): Promise<Joined> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: token ? bearer(token) : { 'x-forwarded-for': ip() },
    payload: { email, password: PASSWORD },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res)
}

for (const dialect of DIALECTS) {
  describe(`people QA (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('takes look-alike domains that deliver to one mailbox as one person', async () => {
      const slug = await createCampaign(suite.app)
      const tag = randomBytes(3).toString('hex')
      const register = (email: string, password?: string) =>
        suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: { 'x-forwarded-for': ip() },
          payload: { campaign: slug, email, name: 'Ada', ...(password ? { password } : {}) },
        })
      const ada = await register(`ada_${tag}@example.com`, PASSWORD)
      assert.equal(ada.statusCode, 201, ada.body)
      // Full-width letters, a script ℯ: IDNA maps each to example.com.
      for (const lookalike of [`ADA_${tag}@ＥＸＡＭＰＬＥ.com`, `ada_${tag}@\u212Fxample.com`]) {
        const res = await register(lookalike)
        assert.equal(res.statusCode, 409, `${lookalike}: ${res.body}`)
        assert.equal(json(res).error.code, 'EMAIL_TAKEN')
      }
      const login = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': ip() },
        payload: { email: `ada_${tag}@ｅｘａｍｐｌｅ.com`, password: PASSWORD },
      })
      assert.equal(login.statusCode, 200, login.body)
      assert.equal(json(login).user.id, json(ada).user.id)

      // An internationalised domain, typed in Unicode or as its ASCII (punycode) form.
      const ume = await register(`ume_${tag}@exämple.com`)
      assert.equal(ume.statusCode, 201, ume.body)
      assert.equal(json(ume).user.email, `ume_${tag}@exämple.com`)
      const puny = await register(`ume_${tag}@xn--exmple-cua.com`)
      assert.equal(puny.statusCode, 409, puny.body)
      // An account stored before domains were mapped is still found as its owner types it.
      const earlier = `old_${tag}@xn--exmple-cua.com`
      const old = await register(`old_${tag}@exämple.com`, PASSWORD)
      await suite.app.platform.database.db
        .updateTable('service_user_master')
        .set({ email: earlier })
        .where('id', '=', json(old).user.id)
        .execute()
      const oldLogin = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': ip() },
        payload: { email: earlier, password: PASSWORD },
      })
      assert.equal(oldLogin.statusCode, 200, oldLogin.body)
      assert.equal(json(oldLogin).user.id, json(old).user.id)

      // A throwaway domain in disguise is still one.
      const gus = await join(suite.app, slug, { name: 'Gus' })
      const burner = await join(suite.app, slug, {
        name: 'Burner',
        email: `b_${tag}@ｍａｉｌｉｎａｔｏｒ.com`,
        referral_code: gus.user.referral_code,
      })
      assert.equal(burner.referral?.code, 'DISPOSABLE_EMAIL', JSON.stringify(burner.referral))
      assert.equal(burner.user.email, `b_${tag}@mailinator.com`)
    })

    it('refuses display names that draw nothing, which would be a blank leaderboard entry', async () => {
      const slug = await createCampaign(suite.app)
      const register = (name: string) =>
        suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: { 'x-forwarded-for': ip() },
          payload: { campaign: slug, email: mail('blank'), name },
        })
      for (const name of ['\u3164\u3164', '\u2800', '\u0301\u0301\u0301', '\uFFA0 \u115F\u1160']) {
        const res = await register(name)
        assert.equal(res.statusCode, 400, `${JSON.stringify(name)}: ${res.body}`)
        assert.match(JSON.stringify(json(res).error.details), /name/)
      }
      for (const name of ['a\u0301da', 'नमस्ते', '\u3164Ada']) {
        const res = await register(name)
        assert.equal(res.statusCode, 201, `${JSON.stringify(name)}: ${res.body}`)
      }
    })

    it('refuses a megabyte of metadata at a join, over REST and through the action', async () => {
      const slug = await createCampaign(suite.app)
      const metadata = { utm: 'x'.repeat(20 * 1024) }
      const rest = await suite.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': ip() },
        payload: { campaign: slug, email: mail('big'), name: 'Big', metadata },
      })
      assert.equal(rest.statusCode, 400, rest.body)
      assert.equal(json(rest).error.code, 'VALIDATION_FAILED')
      assert.match(JSON.stringify(json(rest).error.details), /metadata/)
      const guest = await guestToken(suite.app)
      const action = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(guest.token),
        payload: { action: 'register', data: { email: mail('big'), name: 'Big', metadata } },
      })
      assert.equal(action.statusCode, 400, action.body)
      const small = await suite.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': ip() },
        payload: { campaign: slug, email: mail('small'), name: 'Small', metadata: { utm: 'spring' } },
      })
      assert.equal(small.statusCode, 201, small.body)
    })

    it('records the consent a returning person gives on a later join, per campaign', async () => {
      const [spring, autumn] = [await createCampaign(suite.app), await createCampaign(suite.app)]
      const address = mail('cora')
      const consentOf = async (id: string) =>
        (
          await suite.app.platform.database.db
            .selectFrom('service_user_master')
            .select('consent')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).consent as Record<string, any> | null
      const joinWith = async (campaign: string, token: string | undefined, consent?: string) => {
        const res = await suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: token ? bearer(token) : {},
          payload: {
            campaign,
            email: address,
            name: 'Cora',
            ...(consent ? { consent: { text_version: consent } } : {}),
          },
        })
        assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body)
        return json<Joined>(res)
      }
      // Joined the spring campaign without ticking its box.
      const cora = await joinWith(spring, undefined)
      assert.equal(await consentOf(cora.user.id), null)
      // The autumn campaign's form asks, and she agrees to its text.
      await joinWith(autumn, cora.token, 'autumn-v2')
      const afterAutumn = await consentOf(cora.user.id)
      assert.equal(afterAutumn?.text_version, 'autumn-v2')
      assert.equal(afterAutumn?.campaign, autumn)
      assert.ok(!Number.isNaN(Date.parse(afterAutumn?.at)))
      // Back on the spring page, she ticks its box: both are on record.
      await joinWith(spring, cora.token, 'spring-v1')
      const both = await consentOf(cora.user.id)
      assert.equal(both?.text_version, 'spring-v1')
      assert.equal(both?.by_campaign?.[autumn]?.text_version, 'autumn-v2')
      assert.equal(both?.by_campaign?.[spring]?.text_version, 'spring-v1')
      // A join without the box withdraws nothing.
      await joinWith(autumn, cora.token)
      assert.equal((await consentOf(cora.user.id))?.by_campaign?.[autumn]?.text_version, 'autumn-v2')
    })

    it('refuses a referrer’s code to an account made from a browser the referrer logged in on', async () => {
      const slug = await createCampaign(suite.app)
      const ann = await join(suite.app, slug, { name: 'Ann', password: PASSWORD })
      const gus = await join(suite.app, slug, { name: 'Gus' })

      // Ann logs in on a second browser: its guest session becomes hers too. That browser's guest
      // token (still in it) then makes Bob, with Ann's code.
      const second = await guestToken(suite.app)
      assert.equal((await logIn(suite.app, ann.user.email, second.token)).session_id, second.session_id)
      const bob = await join(suite.app, slug, {
        name: 'Bob',
        token: second.token,
        referral_code: ann.user.referral_code,
      })
      assert.equal(bob.referral?.code, 'OWN_REFERRAL_CODE', JSON.stringify(bob.referral))

      // Made there without a code, applied later with Bob's own token: the same.
      const cy = await join(suite.app, slug, { name: 'Cy', token: second.token })
      const later = await applyReferral(suite.app, slug, cy.token, ann.user.referral_code)
      assert.equal(later.statusCode, 422, later.body)
      assert.equal(json(later).error.code, 'OWN_REFERRAL_CODE')

      // The other way round: Dee logs in on Ann's first browser (the session Ann joined from),
      // then applies Ann's code with a token of her own session elsewhere.
      const first = await guestToken(suite.app)
      const eve = await join(suite.app, slug, { name: 'Eve', token: first.token, password: PASSWORD })
      const dee = await join(suite.app, slug, { name: 'Dee', password: PASSWORD })
      await logIn(suite.app, dee.user.email, first.token)
      const traded = await applyReferral(suite.app, slug, dee.token, eve.user.referral_code)
      assert.equal(traded.statusCode, 422, traded.body)
      assert.equal(json(traded).error.code, 'OWN_REFERRAL_CODE')

      assert.equal(await qualifiedReferrals(suite.app, slug, ann.user.id), 0)
      assert.equal(await qualifiedReferrals(suite.app, slug, eve.user.id), 0)
      // Someone else's code still counts for them all.
      for (const who of [bob, cy, dee]) {
        const ok = await applyReferral(suite.app, slug, who.token, gus.user.referral_code)
        assert.equal(ok.statusCode, 200, ok.body)
      }
      assert.equal(await qualifiedReferrals(suite.app, slug, gus.user.id), 3)
    })
  })
}

/** A token as this deployment's nodes sign them, issued at `iatMs`. */
function signedAt(claims: { user_id: string; sid: string }, iatMs: number) {
  const iat = Math.floor(iatMs / 1000)
  return new SignJWT({ ...claims, iat_ms: iatMs, roles: ['participant'], kind: 'user' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('ovasabi')
    .setSubject(claims.user_id)
    .setJti(`jti_${randomBytes(6).toString('hex')}`)
    .setIssuedAt(iat)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(JWT_SECRET))
}

describe('tokens stamped in the future', () => {
  const suite = suiteApp()

  it('are refused, since no "log out everywhere" made before their stamp could cut them off', async () => {
    const app = suite.app
    const slug = await createCampaign(app)
    const ann = await join(app, slug, { name: 'Ann', password: PASSWORD })
    const claims = { user_id: ann.user.id, sid: ann.session_id }
    const track = (token: string) =>
      app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(token),
        payload: { action: 'content.create', data: {} },
      })
    const now = await signedAt(claims, Date.now())
    assert.equal((await track(now)).statusCode, 200)
    // A node whose clock ran a minute fast: tolerated.
    assert.equal((await track(await signedAt(claims, Date.now() + 60_000))).statusCode, 200)
    const future = await track(await signedAt(claims, Date.now() + 10 * 365 * 86_400_000))
    assert.equal(future.statusCode, 401, future.body)
    assert.equal(json(future).error.code, 'INVALID_TOKEN')
  })
})

describe('the session cookie on REST', () => {
  const suite = suiteApp({ env: { CORS_ORIGINS: 'https://partner.example' } })

  it('is not honoured for another site’s page: it cannot log the visitor out', async () => {
    const app = suite.app
    const guest = await guestToken(app)
    const logout = (origin?: string) =>
      app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: {
          host: 'campaign.example',
          cookie: `ovasabi_token=${guest.token}`,
          ...(origin ? { origin } : {}),
        },
      })
    // A page anywhere can make the browser POST here with its cookies (no body, no preflight).
    for (const origin of ['https://evil.example', 'null', 'https://campaign.example.evil.example']) {
      const refused = await logout(origin)
      assert.equal(refused.statusCode, 403, `${origin}: ${refused.body}`)
      assert.equal(json(refused).error.code, 'ORIGIN_NOT_ALLOWED')
    }
    const session = await app.inject({
      method: 'POST',
      url: '/api/translate',
      headers: { authorization: `Bearer ${guest.token}` },
      payload: {},
    })
    assert.notEqual(session.statusCode, 401, session.body)
    // The site's own page, a listed origin, and clients that send no Origin keep using it.
    for (const origin of ['https://campaign.example', 'https://partner.example', undefined]) {
      const other = await guestToken(app)
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: {
          host: 'campaign.example',
          cookie: `ovasabi_token=${other.token}`,
          ...(origin ? { origin } : {}),
        },
      })
      assert.equal(res.statusCode, 200, `${origin}: ${res.body}`)
    }
    // A login sent with it from there is a login without it: no session of the cookie's is taken over.
    const slug = await createCampaign(app)
    const ann = await join(app, slug, { name: 'Ann', password: PASSWORD })
    const visitor = await guestToken(app)
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: {
        host: 'campaign.example',
        cookie: `ovasabi_token=${visitor.token}`,
        origin: 'https://evil.example',
      },
      payload: { email: ann.user.email, password: PASSWORD },
    })
    assert.equal(login.statusCode, 200, login.body)
    assert.notEqual(json(login).session_id, visitor.session_id)
    // A bearer token is no ambient credential: any page that holds it may use it.
    const bearerLogout = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${guest.token}`, origin: 'https://evil.example' },
    })
    assert.equal(bearerLogout.statusCode, 200, bearerLogout.body)
  })
})

for (const dialect of DIALECTS) {
  describe(`erasing a person someone else signed up (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('leaves nothing of them in the analytics log, whoever sent their join', async () => {
      const slug = await createCampaign(suite.app)
      const ann = await join(suite.app, slug, { name: 'Ann' })
      const registered: Joined[] = []
      // A friend's logged-in browser, and the operator's back office with its API key.
      for (const headers of [bearer(ann.token), { ...adminHeaders, 'x-forwarded-for': ip() }]) {
        const res = await suite.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers,
          payload: {
            action: 'register',
            data: {
              email: mail('zelda.quill'),
              name: 'Zelda Quill',
              metadata: { phone: '+44 20 7946 0958' },
            },
            request_id: `req_${randomBytes(6).toString('hex')}`,
          },
        })
        assert.equal(res.statusCode, 200, res.body)
        registered.push(json(res).result)
      }
      for (const person of registered) {
        const erased = await suite.app.inject({
          method: 'DELETE',
          url: `/api/user/${person.user.id}`,
          headers: bearer(person.token),
        })
        assert.equal(erased.statusCode, 200, erased.body)
      }
      const events = await suite.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select(['event', 'payload', 'metadata'])
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(events.filter((e) => e.event === 'register').length, 2)
      const log = JSON.stringify(events)
      for (const person of registered) assert.ok(!log.includes(person.user.email), log)
      assert.ok(!log.includes('Zelda'), log)
      assert.ok(!log.includes('7946'), log)
    })
  })
}

describe('erasing a person again', () => {
  let ctx: TestContext
  const sockets: TestClient[] = []
  before(async () => {
    ctx = await buildTestApp({})
    await listenLocally(ctx.app)
  })
  after(async () => {
    for (const s of sockets) s.close()
    await ctx.close()
  })

  it('erases what reached their identity after the first time', async () => {
    const app = ctx.app
    const slug = await createCampaign(app)
    const ann = await join(app, slug, { name: 'Ann' })
    const socket = await connect(`${baseUrl(app)}/ws/${slug}/${ann.user.id}?token=${ann.token}`)
    sockets.push(socket)
    const erase = () =>
      app.inject({ method: 'DELETE', url: `/api/user/${ann.user.id}`, headers: adminHeaders })
    // The erasure's bus message is lost: her open socket still acts as her until the gateway's
    // next credential check (it would close at once otherwise).
    const { bus } = app.platform
    const publish = bus.publish
    bus.publish = async (channel, m) =>
      channel === CREDENTIALS_REVOKED_CHANNEL ? undefined : publish.call(bus, channel, m)
    const first = await erase().finally(() => {
      bus.publish = publish
    })
    assert.equal(first.statusCode, 200, first.body)

    socket.send({
      type: 'campaign_event',
      event: 'quote.submit',
      request_id: 'req_straggler',
      payload: { name: 'Ann Straggler', email: 'ann.straggler@example.com', message: 'call me' },
    })
    await socket.next((f) => f.type === 'update_ack' && f.request_id === 'req_straggler', 20_000)

    const again = await erase()
    assert.equal(again.statusCode, 200, again.body)
    assert.equal(json(again).erased_at, json(first).erased_at)
    const leads = await app.platform.database.db
      .selectFrom('service_quote_main')
      .select(['name', 'email', 'message'])
      .where('campaign_slug', '=', slug)
      .execute()
    for (const lead of leads) assert.deepEqual(lead, { name: null, email: null, message: null })
    const events = await app.platform.database.db
      .selectFrom('service_analytics_event')
      .select(['payload'])
      .where('campaign_slug', '=', slug)
      .execute()
    assert.ok(!JSON.stringify(events).includes('call me'), JSON.stringify(events))
  })
})
