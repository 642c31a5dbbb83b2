// Email verification by mail, through a real SMTP server on a local port: a signed-in person asks
// for a link (or a campaign mails it at a join), the link confirms that address once, for 24
// hours, and only the latest; a password reset's link confirms it too; every campaign the person
// joined logs `email_verified`, and a referral drive counting only confirmed addresses
// (`referral_qualifies_on: email_verified`) qualifies their referral on it.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import { MAIL_PUBLIC_URL as PUBLIC_URL, mailingSuite } from './fixtures/mailing-suite.js'
import { startSmtpReceiver } from './fixtures/smtp-receiver.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, guestToken, json } from './helper.js'
import { waitFor } from './wait-for.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
/** Asks for a link (to `campaign`'s page when given, as the page's "send it again" does). */
const ask = (app: FastifyInstance, token?: string, body?: { campaign: string }) =>
  app.inject({
    method: 'POST',
    url: '/api/auth/email/verification',
    headers: token ? bearer(token) : {},
    ...(body ? { payload: body } : {}),
  })
const verify = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'POST', url: '/api/auth/email/verify', payload: { token } })
const me = async (app: FastifyInstance, token: string) => {
  const res = await app.inject({ url: '/api/auth/me', headers: bearer(token) })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).user
}

/** A person joins `slug` without a password (with a referral code when given). */
async function join(app: FastifyInstance, slug: string, referral_code?: string) {
  const { token: guest } = await guestToken(app)
  const email = `ada.${randomBytes(5).toString('hex')}@example.org`
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: bearer(guest),
    payload: { campaign: slug, name: 'Ada', email, ...(referral_code ? { referral_code } : {}) },
  })
  assert.equal(res.statusCode, 201, res.body)
  const body = json(res)
  return {
    email,
    token: body.token as string,
    id: body.user.id as string,
    code: body.user.referral_code as string,
    /** What the join said of a link mailed to confirm the address. */
    mailed: body.email_verification as string | undefined,
  }
}

/**
 * The token of the link in a verification mail: to the console's page, or for one mailed at a
 * join to `campaign`, to that campaign's page.
 */
function linkToken(text: string, campaign?: string): string {
  const link = text.match(/https:\/\/\S+#(?:token|verify)=(\S+)/)
  assert.ok(link, `a link in ${JSON.stringify(text)}`)
  const page = campaign ? `${PUBLIC_URL}/c/${campaign}#verify=` : `${PUBLIC_URL}/admin/verify-email#token=`
  assert.ok(link[0].startsWith(page), link[0])
  return link[1]!
}

describe('email verification without mail configured', () => {
  it('is 503 MAIL_UNAVAILABLE for a person, 403 PERSON_REQUIRED for a guest, 401 without a token', async () => {
    const ctx = await buildTestApp()
    try {
      const slug = await createCampaign(ctx.app)
      const ada = await join(ctx.app, slug)
      const res = await ask(ctx.app, ada.token)
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(json(res).error.code, 'MAIL_UNAVAILABLE')
      const guest = await ask(ctx.app, (await guestToken(ctx.app)).token)
      assert.equal(guest.statusCode, 403, guest.body)
      assert.equal(json(guest).error.code, 'PERSON_REQUIRED')
      const apiKey = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/email/verification',
        headers: adminHeaders,
      })
      assert.equal(json(apiKey).error.code, 'PERSON_REQUIRED', apiKey.body)
      assert.equal((await ask(ctx.app)).statusCode, 401)
      // Joining a campaign that asks for verification still works: there is just no mail.
      const asking = await createCampaign(ctx.app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
      await join(ctx.app, asking)
    } finally {
      await ctx.close()
    }
  })
})

describe('EMAIL_VERIFY_URL', () => {
  it("names the one page every link goes to, a join's too (not the campaign's page)", async () => {
    const smtp = await startSmtpReceiver()
    const ctx = await buildTestApp({
      env: { SMTP_URL: smtp.url, PUBLIC_URL, EMAIL_VERIFY_URL: 'https://welcome.example.org/confirm' },
    })
    try {
      const asking = await createCampaign(ctx.app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
      const ada = await join(ctx.app, asking)
      const mail = await waitFor(() => smtp.messages.find((m) => m.to.includes(ada.email)), 'the mail')
      assert.match(mail.text, /\nhttps:\/\/welcome\.example\.org\/confirm#token=[A-Za-z0-9_-]{43}\n/)
      assert.match(mail.text, /signed up on welcome\.example\.org with /)
    } finally {
      await ctx.close()
      await smtp.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`email verification by mail (${dialect})`, () => {
    const suite = mailingSuite(dialect)
    const db = suite.db
    const mailsTo = (to: string) => suite.smtp.messages.filter((m) => m.to.includes(to))
    const nthMail = (to: string, n: number) => waitFor(() => mailsTo(to)[n - 1], `mail ${n} to ${to}`)

    it('mails a link that confirms the address once; the person, the people list and the log show it', async () => {
      const { app } = suite.ctx
      const ada = await join(app, suite.slug)
      assert.equal((await me(app, ada.token)).email_verified_at, null)

      const asked = await ask(app, ada.token)
      assert.equal(asked.statusCode, 202, asked.body)
      assert.deepEqual(json(asked), { status: 'sent' })
      const mail = await nthMail(ada.email, 1)
      assert.equal(mail.subject, 'Confirm your email address')
      assert.match(mail.text, /works once, for 24 hours/)
      const token = linkToken(mail.text)

      // Only a hash of the token is stored, with the address it went to.
      const rows = await db().selectFrom('service_user_email_verification').selectAll().execute()
      const row = rows.find((r) => r.token_hash === createHash('sha256').update(token).digest('hex'))
      assert.equal(row?.email, ada.email)
      assert.ok(!rows.some((r) => r.token_hash.includes(token)))

      const forged = await verify(app, `${token.slice(0, -2)}AA`)
      assert.equal(forged.statusCode, 400, forged.body)
      assert.equal(json(forged).error.code, 'INVALID_VERIFICATION_TOKEN')

      const done = await verify(app, token)
      assert.equal(done.statusCode, 200, done.body)
      assert.equal(json(done).status, 'email_verified')
      const at = json(done).email_verified_at
      assert.ok(!Number.isNaN(Date.parse(at)))
      assert.equal((await me(app, ada.token)).email_verified_at, at)

      const again = await verify(app, token)
      assert.equal(json(again).error.code, 'INVALID_VERIFICATION_TOKEN', again.body)
      const already = await ask(app, ada.token)
      assert.equal(already.statusCode, 200, already.body)
      assert.deepEqual(json(already), { status: 'already_verified' })

      const people = await app.inject({
        url: `/api/users?q=${encodeURIComponent(ada.email)}`,
        headers: adminHeaders,
      })
      assert.equal(people.statusCode, 200, people.body)
      assert.equal(json(people).people[0].email_verified_at, at)

      // The campaign's log holds the verification, once.
      const logged = await db()
        .selectFrom('service_analytics_event')
        .select(['campaign_slug', 'event'])
        .where('user_id', '=', ada.id)
        .where('event', '=', 'email_verified')
        .execute()
      assert.deepEqual(logged, [{ campaign_slug: suite.slug, event: 'email_verified' }])
    })

    it('honours only the latest link, none past 24 hours, and mails a person 3 links an hour', async () => {
      const { app } = suite.ctx
      const ada = await join(app, suite.slug)
      assert.equal((await ask(app, ada.token)).statusCode, 202)
      const first = linkToken((await nthMail(ada.email, 1)).text)
      assert.equal((await ask(app, ada.token)).statusCode, 202)
      const second = linkToken((await nthMail(ada.email, 2)).text)
      assert.notEqual(first, second)
      assert.equal(json(await verify(app, first)).error.code, 'INVALID_VERIFICATION_TOKEN')

      await db()
        .updateTable('service_user_email_verification')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .where('user_id', '=', ada.id)
        .execute()
      assert.equal(json(await verify(app, second)).error.code, 'INVALID_VERIFICATION_TOKEN')

      assert.equal((await ask(app, ada.token)).statusCode, 202)
      const third = linkToken((await nthMail(ada.email, 3)).text)
      const limited = await ask(app, ada.token)
      assert.equal(limited.statusCode, 429, limited.body)
      assert.equal(json(limited).error.code, 'RATE_LIMITED')
      assert.ok(Number(limited.headers['retry-after']) > 0)
      // Out of mails, the last one sent still works.
      assert.equal((await verify(app, third)).statusCode, 200)
      assert.equal((await me(app, ada.token)).email_verified_at === null, false)
    })

    it('mails the link at a join when the campaign asks (verify_email_at_join)', async () => {
      const { app } = suite.ctx
      const asking = await createCampaign(app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
      const ada = await join(app, asking)
      assert.equal(ada.mailed, 'mailed', 'the join says a link is on its way')
      const token = linkToken((await nthMail(ada.email, 1)).text, asking)
      assert.equal((await verify(app, token)).statusCode, 200)
      assert.notEqual((await me(app, ada.token)).email_verified_at, null)
      // A campaign that does not ask mails nothing, and its join says nothing of it.
      const grace = await join(app, suite.slug)
      assert.equal(grace.mailed, undefined)
    })

    it('mails the link again to the page of a campaign the person joined, and to none other', async () => {
      const { app } = suite.ctx
      const asking = await createCampaign(app, {
        metadata: { features: [...FEATURES], custom_rules: { verify_email_at_join: true } },
      })
      const ada = await join(app, asking)
      const first = linkToken((await nthMail(ada.email, 1)).text, asking)

      const elsewhere = await ask(app, ada.token, { campaign: suite.slug })
      assert.equal(elsewhere.statusCode, 404, elsewhere.body)
      assert.equal(json(elsewhere).error.code, 'NOT_A_MEMBER')
      const malformed = await ask(app, ada.token, { campaign: 'Not a suite.slug!' })
      assert.equal(malformed.statusCode, 400, malformed.body)
      const unknown = await app.inject({
        method: 'POST',
        url: '/api/auth/email/verification',
        headers: bearer(ada.token),
        payload: { campaign: asking, to: 'grace@example.org' },
      })
      assert.equal(unknown.statusCode, 400, unknown.body)

      const again = await ask(app, ada.token, { campaign: asking })
      assert.equal(again.statusCode, 202, again.body)
      const second = linkToken((await nthMail(ada.email, 2)).text, asking)
      assert.equal(mailsTo(ada.email).length, 2, 'no mail for the requests refused')
      assert.equal(json(await verify(app, first)).error.code, 'INVALID_VERIFICATION_TOKEN')
      assert.equal((await verify(app, second)).statusCode, 200)
      assert.deepEqual(json(await ask(app, ada.token, { campaign: asking })), { status: 'already_verified' })
    })

    it('confirms the address with a password reset’s link too', async () => {
      const { app } = suite.ctx
      const ada = await join(app, suite.slug)
      const forgot = await app.inject({
        method: 'POST',
        url: '/api/auth/password/forgot',
        payload: { email: ada.email },
      })
      assert.equal(forgot.statusCode, 202, forgot.body)
      const link = (await nthMail(ada.email, 1)).text.match(/#token=(\S+)/)
      assert.ok(link)
      const reset = await app.inject({
        method: 'POST',
        url: '/api/auth/password/reset',
        payload: { token: link[1], password: 'a brand new passphrase 7' },
      })
      assert.equal(reset.statusCode, 200, reset.body)
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: ada.email, password: 'a brand new passphrase 7' },
      })
      assert.equal(login.statusCode, 200, login.body)
      assert.notEqual((await me(app, json(login).token)).email_verified_at, null)
    })

    it('qualifies a referral when the referred person confirms their address (referral_qualifies_on)', async () => {
      const { app } = suite.ctx
      const drive = await createCampaign(app, {
        metadata: { features: [...FEATURES], custom_rules: { referral_qualifies_on: 'email_verified' } },
      })
      const state = async (referred: string) =>
        (
          await db()
            .selectFrom('service_referral_main')
            .select('state')
            .where('campaign_slug', '=', drive)
            .where('referred_id', '=', referred)
            .executeTakeFirst()
        )?.state
      const referrer = await join(app, drive)
      const grace = await join(app, drive, referrer.code)
      assert.equal(await state(grace.id), 'pending')
      // No visitor can send the event themselves: it is no dotted tracked event, nor an action.
      const forged = await app.inject({
        method: 'POST',
        url: `/api/${drive}/update`,
        headers: bearer(grace.token),
        payload: { action: 'email_verified', data: {} },
      })
      assert.notEqual(forged.statusCode, 200, forged.body)
      assert.equal(await state(grace.id), 'pending')

      assert.equal((await ask(app, grace.token)).statusCode, 202)
      assert.equal((await verify(app, linkToken((await nthMail(grace.email, 1)).text))).statusCode, 200)
      await waitFor(async () => (await state(grace.id)) === 'qualified', 'the referral qualified')

      // Someone who confirmed their address before joining the drive qualifies at their join.
      const other = await createCampaign(app)
      const lin = await join(app, other)
      assert.equal((await ask(app, lin.token)).statusCode, 202)
      assert.equal((await verify(app, linkToken((await nthMail(lin.email, 1)).text))).statusCode, 200)
      const rejoin = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(lin.token),
        payload: { campaign: drive, name: 'Lin', email: lin.email, referral_code: referrer.code },
      })
      assert.equal(rejoin.statusCode, 201, rejoin.body)
      await waitFor(
        async () => (await state(lin.id)) === 'qualified',
        'the referral of a person verified before',
      )
      // Both qualified as the verification (or the join) committed, not by a later sweep.
      const audit = await db()
        .selectFrom('service_referral_audit')
        .select('reason')
        .where('campaign_slug', '=', drive)
        .where('to_state', '=', 'qualified')
        .execute()
      assert.deepEqual(audit, [{ reason: null }, { reason: null }])
    })

    it('forgets the confirmation and the links at erasure', async () => {
      const { app } = suite.ctx
      const ada = await join(app, suite.slug)
      assert.equal((await ask(app, ada.token)).statusCode, 202)
      const token = linkToken((await nthMail(ada.email, 1)).text)
      const erased = await app.inject({ method: 'DELETE', url: `/api/user/${ada.id}`, headers: adminHeaders })
      assert.equal(erased.statusCode, 200, erased.body)
      const links = await db()
        .selectFrom('service_user_email_verification')
        .select('token_hash')
        .where('user_id', '=', ada.id)
        .execute()
      assert.deepEqual(links, [])
      assert.equal(json(await verify(app, token)).error.code, 'INVALID_VERIFICATION_TOKEN')
      const row = await db()
        .selectFrom('service_user_master')
        .select(['email', 'email_verified_at'])
        .where('id', '=', ada.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { email: null, email_verified_at: null })
    })

    it('refuses a malformed body with 400 and an unknown token with INVALID_VERIFICATION_TOKEN', async () => {
      const { app } = suite.ctx
      for (const payload of [
        {},
        { token: '' },
        { token: 5 },
        { token: 'x'.repeat(201) },
        { token: 'a', extra: 1 },
      ]) {
        const res = await app.inject({ method: 'POST', url: '/api/auth/email/verify', payload })
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
      }
      const unknown = await verify(app, randomBytes(32).toString('base64url'))
      assert.equal(json(unknown).error.code, 'INVALID_VERIFICATION_TOKEN')
    })
  })
}
