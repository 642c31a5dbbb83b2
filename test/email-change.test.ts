// `POST /api/auth/email`: a person signed in moves their account to another address, with their
// password and a link mailed to the new address (through a real SMTP server), which
// `POST /api/auth/email/verify` takes. Until it is used nothing changes; once it is, the new
// address signs in, is confirmed, and the old one is told, while an erasure still finds what was
// stored under the old one. Wrong passwords, addresses taken (also meanwhile), stale links,
// guests, keys and bodies that are not a change are refused, each changing nothing.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createClient, OvasabiError } from '../client/index.js'
import { MAIL_PUBLIC_URL as PUBLIC_URL, mailingSuite } from './fixtures/mailing-suite.js'
import type { ReceivedMail } from './fixtures/smtp-receiver.js'
import {
  ADMIN_KEY,
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  joinAs,
  joinWithPassword,
  json,
  listenLocally,
  type Member,
  newMember,
} from './helper.js'
import { waitFor } from './wait-for.js'

/** Each test's own client network, so no test spends another's login budget. */
const network = () => `203.0.113.${1 + Math.floor(Math.random() * 250)}`
const fresh = (name = 'new') => `${name}.${randomBytes(5).toString('hex')}@example.net`
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': network() })

const ask = (app: FastifyInstance, token: string, payload: unknown) =>
  app.inject({ method: 'POST', url: '/api/auth/email', headers: bearer(token), payload: payload as object })
const verify = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'POST', url: '/api/auth/email/verify', payload: { token } })
const login = (app: FastifyInstance, email: string, password: string) =>
  app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': network() },
    payload: { email, password },
  })
const me = async (app: FastifyInstance, token: string) =>
  json(await app.inject({ url: '/api/auth/me', headers: bearer(token) }))

for (const dialect of DIALECTS) {
  describe(`POST /api/auth/email (${dialect})`, () => {
    const suite = mailingSuite(dialect)
    const db = suite.db
    const mails = (to: string, subject: string) =>
      suite.smtp.messages.filter((m) => m.to.includes(to) && m.subject === subject)
    const mailTo = (to: string, subject: string, nth = 1): Promise<ReceivedMail> =>
      waitFor(() => mails(to, subject)[nth - 1], `mail ${nth} "${subject}" to ${to}`)
    const linkIn = (mail: ReceivedMail) => {
      const link = mail.text.match(/https:\/\/\S+#token=(\S+)/)
      assert.ok(link, mail.text)
      assert.ok(link[0].startsWith(`${PUBLIC_URL}/admin/verify-email#token=`), link[0])
      return link[1]!
    }
    const verifiedEvents = async (userId: string) =>
      (
        await db()
          .selectFrom('service_analytics_event')
          .select('event')
          .where('user_id', '=', userId)
          .where('event', '=', 'email_verified')
          .execute()
      ).length
    /** Asks for a change of `member`'s address to `next` and returns the mailed link's token. */
    async function asked(member: Member, next: string, nth = 1): Promise<string> {
      const res = await ask(suite.ctx.app, member.token, { email: next, current_password: member.password })
      assert.equal(res.statusCode, 202, res.body)
      return linkIn(await mailTo(next.toLowerCase(), 'Confirm your new email address', nth))
    }

    it('moves the account once the link mailed to the new address is used, and tells the old one', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const id = (await me(app, member.token)).user_id
      const next = fresh()
      const res = await ask(app, member.token, {
        email: `  ${next.replace('example.net', 'EXAMPLE.NET')} `,
        current_password: member.password,
      })
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual(json(res), { status: 'sent', email: next })
      const link = linkIn(await mailTo(next, 'Confirm your new email address'))
      assert.match((await mailTo(next, 'Confirm your new email address')).text, /works once, for 24 hours/)

      // Nothing changes until the link is used.
      assert.equal((await me(app, member.token)).user.email, member.email)
      assert.equal((await login(app, member.email, member.password)).statusCode, 200)
      assert.equal((await login(app, next, member.password)).statusCode, 401)

      const done = await verify(app, link)
      assert.equal(done.statusCode, 200, done.body)
      assert.equal(json(done).status, 'email_verified')
      const now = await me(app, member.token)
      assert.equal(now.user.email, next, 'the session goes on, with the new address')
      assert.equal(now.user.email_verified_at, json(done).email_verified_at)
      assert.equal((await login(app, next, member.password)).statusCode, 200)
      assert.equal((await login(app, member.email, member.password)).statusCode, 401)
      // The first confirmation the person ever made: every campaign they joined logs it, once.
      assert.equal(await verifiedEvents(id), 1)

      const notice = await mailTo(member.email, 'Your email address was changed')
      assert.match(notice.text, new RegExp(`changed from ${member.email} to ${next}`))
      assert.doesNotMatch(notice.text, /#token=/)
      assert.equal(json(await verify(app, link)).error.code, 'INVALID_VERIFICATION_TOKEN', 'it works once')
    })

    it('keeps a confirmed address confirmed, logging no second confirmation', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const id = (await me(app, member.token)).user_id
      const requested = await app.inject({
        method: 'POST',
        url: '/api/auth/email/verification',
        headers: bearer(member.token),
      })
      assert.equal(requested.statusCode, 202, requested.body)
      const first = await verify(app, linkIn(await mailTo(member.email, 'Confirm your email address')))
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(await verifiedEvents(id), 1)

      const next = fresh()
      const done = await verify(app, await asked(member, next))
      assert.equal(done.statusCode, 200, done.body)
      assert.ok(Date.parse(json(done).email_verified_at) >= Date.parse(json(first).email_verified_at))
      assert.equal((await me(app, member.token)).user.email, next)
      assert.equal(await verifiedEvents(id), 1, 'no second email_verified')
    })

    it('voids the links mailed to the old address, and honours only the latest change link', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const forgot = await app.inject({
        method: 'POST',
        url: '/api/auth/password/forgot',
        headers: { 'x-forwarded-for': network() },
        payload: { email: member.email },
      })
      assert.equal(forgot.statusCode, 202, forgot.body)
      const reset = (await mailTo(member.email, 'Choose a new password')).text.match(/#token=(\S+)/)?.[1]
      assert.ok(reset)

      const firstAddress = fresh('first')
      const stale = await asked(member, firstAddress)
      const latest = fresh('latest')
      const link = await asked(member, latest)
      assert.equal(json(await verify(app, stale)).error.code, 'INVALID_VERIFICATION_TOKEN')
      assert.equal((await verify(app, link)).statusCode, 200)
      assert.equal((await me(app, member.token)).user.email, latest)

      const late = await app.inject({
        method: 'POST',
        url: '/api/auth/password/reset',
        payload: { token: reset, password: 'taken back from the old mailbox 1' },
      })
      assert.equal(late.statusCode, 400, late.body)
      assert.equal(json(late).error.code, 'INVALID_RESET_TOKEN')
      assert.equal((await login(app, latest, member.password)).statusCode, 200)
    })

    it('refuses an address another account has, asked for or taken meanwhile, changing nothing', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const other = await newMember(app, suite.slug, 'other')
      const takenRes = await ask(app, member.token, {
        email: other.email.toUpperCase(),
        current_password: member.password,
      })
      assert.equal(takenRes.statusCode, 409, takenRes.body)
      assert.equal(json(takenRes).error.code, 'EMAIL_TAKEN')

      const next = fresh()
      const link = await asked(member, next)
      // Someone joins with the address before the link is used.
      assert.equal((await joinAs(app, suite.slug, next)).statusCode, 201)
      const late = await verify(app, link)
      assert.equal(late.statusCode, 409, late.body)
      assert.equal(json(late).error.code, 'EMAIL_TAKEN')
      assert.equal((await me(app, member.token)).user.email, member.email)
      assert.equal((await login(app, member.email, member.password)).statusCode, 200)
      assert.equal(mails(member.email, 'Your email address was changed').length, 0)
    })

    it('refuses a wrong password as a login’s guess, the same address, and more than 3 an hour', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const wrong = await ask(app, member.token, { email: fresh(), current_password: 'not the password 1' })
      assert.equal(wrong.statusCode, 403, wrong.body)
      assert.equal(json(wrong).error.code, 'WRONG_PASSWORD')
      const same = await ask(app, member.token, {
        email: ` ${member.email.toUpperCase()}`,
        current_password: member.password,
      })
      assert.equal(same.statusCode, 400, same.body)
      assert.equal(json(same).error.code, 'EMAIL_UNCHANGED')
      // Every ask past the password counts, that one too: 3 an hour.
      for (let i = 0; i < 2; i++) {
        const res = await ask(app, member.token, { email: fresh(), current_password: member.password })
        assert.equal(res.statusCode, 202, `ask ${i + 1}: ${res.body}`)
      }
      const over = await ask(app, member.token, { email: fresh(), current_password: member.password })
      assert.equal(over.statusCode, 429, over.body)
      assert.equal(json(over).error.code, 'RATE_LIMITED')
      assert.ok(Number(over.headers['retry-after']) > 0)
    })

    it('is for a person with a password, and refuses a body that is not a change', async () => {
      const { app } = suite.ctx
      const passwordless = await newMember(app, suite.slug)
      const none = await ask(app, passwordless.token, { email: fresh(), current_password: 'anything 12345' })
      assert.equal(none.statusCode, 409, none.body)
      assert.equal(json(none).error.code, 'PASSWORD_NOT_SET')
      const { token: guest } = await guestToken(app)
      const asGuest = await ask(app, guest, { email: fresh(), current_password: 'anything 12345' })
      assert.equal(json(asGuest).error.code, 'PERSON_REQUIRED', asGuest.body)
      const asKey = await app.inject({
        method: 'POST',
        url: '/api/auth/email',
        headers: { 'x-api-key': ADMIN_KEY },
        payload: { email: fresh(), current_password: 'anything 12345' },
      })
      assert.equal(asKey.statusCode, 403, asKey.body)
      assert.equal(json(asKey).error.code, 'PERSON_REQUIRED')

      const member = await joinWithPassword(app, suite.slug)
      const bodies: unknown[] = [
        {},
        { email: fresh() },
        { current_password: member.password },
        { email: 'not an address', current_password: member.password },
        { email: 'ada@198.51.100.1', current_password: member.password },
        { email: `${'a'.repeat(300)}@example.net`, current_password: member.password },
        { email: fresh(), current_password: member.password, role: 'admin' },
        { email: 42, current_password: member.password },
        [],
      ]
      for (const payload of bodies) {
        const res = await ask(app, member.token, payload)
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', res.body)
      }
      assert.equal((await me(app, member.token)).user.email, member.email)
    })

    it('erases what was stored under an address the person had before, while it was theirs', async () => {
      const { app } = suite.ctx
      const campaign = await createCampaign(app)
      const member = await joinWithPassword(app, campaign)
      const id = (await me(app, member.token)).user_id
      const { token: visitor } = await guestToken(app)
      const lead = await app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: bearer(visitor),
        payload: { campaign, name: 'Grace Hopper', email: member.email },
      })
      assert.equal(lead.statusCode, 200, lead.body)
      assert.equal((await verify(app, await asked(member, fresh()))).statusCode, 200)
      // Sent under the old address once it was no longer theirs (someone else's, maybe): kept.
      const later = await createCampaign(app)
      const since = await app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: bearer((await guestToken(app)).token),
        payload: { campaign: later, name: 'Alan Turing', email: member.email },
      })
      assert.equal(since.statusCode, 200, since.body)
      assert.equal(
        (
          await db()
            .selectFrom('service_user_former_email')
            .select('email')
            .where('user_id', '=', id)
            .execute()
        ).length,
        1,
      )

      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${id}`,
        headers: bearer(member.token),
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const leads = JSON.stringify(
        json(await app.inject({ url: `/api/campaign/${campaign}/leads`, headers: adminHeaders })),
      )
      assert.ok(!leads.includes(member.email), `the lead still names the old address: ${leads}`)
      assert.ok(!leads.includes('Grace Hopper'), leads)
      const sinceLeads = JSON.stringify(
        json(await app.inject({ url: `/api/campaign/${later}/leads`, headers: adminHeaders })),
      )
      assert.ok(sinceLeads.includes('Alan Turing'), `a lead sent after the change was erased: ${sinceLeads}`)
      const kept = await db()
        .selectFrom('service_user_former_email')
        .select('email')
        .where('user_id', '=', id)
        .execute()
      assert.deepEqual(kept, [], 'the former addresses go with the person')
    })

    it('is the SDK’s users.changeEmail, confirmed with users.verifyEmail', async () => {
      const member = await joinWithPassword(suite.ctx.app, suite.slug)
      const client = createClient({ baseUrl: await listenLocally(suite.ctx.app), token: member.token })
      await assert.rejects(
        client.users.changeEmail({ email: member.email, current_password: member.password }),
        (err: unknown) => err instanceof OvasabiError && err.status === 400 && err.code === 'EMAIL_UNCHANGED',
      )
      const next = fresh()
      const sent = await client.users.changeEmail({ email: next, current_password: member.password })
      assert.deepEqual(sent, { status: 'sent', email: next })
      const token = linkIn(await mailTo(next, 'Confirm your new email address'))
      await client.users.verifyEmail({ token })
      assert.equal((await client.auth.me()).user?.email, next)
    })
  })
}

describe('POST /api/auth/email without mail configured', () => {
  it('is 503 MAIL_UNAVAILABLE, before any password is checked', async () => {
    const ctx = await buildTestApp()
    try {
      const slug = await createCampaign(ctx.app)
      const member = await joinWithPassword(ctx.app, slug)
      const res = await ask(ctx.app, member.token, { email: fresh(), current_password: 'not it at all 1' })
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(json(res).error.code, 'MAIL_UNAVAILABLE')
    } finally {
      await ctx.close()
    }
  })
})
