// Password reset by mail, through a real SMTP server on a local port: the same answer whether or
// not the address has an account, a link that works once, for 30 minutes, and only the latest;
// using it sets the password and ends every session of the person; a passwordless account taken
// with someone's address is won back by the mailbox's owner.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { MAIL_PUBLIC_URL as PUBLIC_URL, mailingSuite } from './fixtures/mailing-suite.js'
import type { startSmtpReceiver } from './fixtures/smtp-receiver.js'
import { buildTestApp, DIALECTS, guestToken, joinWithPassword, json } from './helper.js'
import { waitFor } from './wait-for.js'

const NEW_PASSWORD = 'a brand new passphrase 7'

const ask = (app: FastifyInstance, email: string, ip = '198.51.100.7') =>
  app.inject({
    method: 'POST',
    url: '/api/auth/password/forgot',
    headers: { 'x-forwarded-for': ip },
    payload: { email },
  })
const reset = (app: FastifyInstance, token: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/auth/password/reset', payload: { token, password } })
const login = (app: FastifyInstance, email: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
const me = (app: FastifyInstance, token: string) =>
  app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })

/** The token of the link in a reset mail. */
function linkToken(text: string): string {
  const link = text.match(/https:\/\/\S+#token=(\S+)/)
  assert.ok(link, `a link in ${JSON.stringify(text)}`)
  assert.ok(link[0].startsWith(`${PUBLIC_URL}/admin/reset-password#token=`), link[0])
  return link[1]!
}

describe('password reset without mail configured', () => {
  const envs: Array<Record<string, string>> = [{}, { SMTP_URL: 'smtp://127.0.0.1:9' }]
  for (const env of envs) {
    it(`is 503 MAIL_UNAVAILABLE (${Object.keys(env).join(', ') || 'no SMTP_URL'}, no PUBLIC_URL)`, async () => {
      const ctx = await buildTestApp({ env })
      try {
        const res = await ask(ctx.app, 'ada@example.org')
        assert.equal(res.statusCode, 503, res.body)
        assert.equal(json(res).error.code, 'MAIL_UNAVAILABLE')
      } finally {
        await ctx.close()
      }
    })
  }
})

for (const dialect of DIALECTS) {
  describe(`password reset by mail (${dialect})`, () => {
    const suite = mailingSuite(dialect)
    const db = suite.db

    it('mails a link that sets the password once, and ends every session of the person', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const stranger = `nobody_${randomBytes(4).toString('hex')}@example.org`
      const unknown = await ask(app, stranger)
      assert.equal(unknown.statusCode, 202, unknown.body)
      // The address as someone types it: spaces and capitals.
      const known = await ask(app, `  ${member.email.toUpperCase()} `)
      assert.equal(known.statusCode, 202, known.body)
      assert.deepEqual(json(known), json(unknown), 'the same answer whether or not an account has it')

      const mail = await suite.smtp.waitForMessage(member.email)
      assert.deepEqual(mail.to, [member.email])
      assert.equal(mail.from, 'no-reply@launch.example.org')
      assert.equal(mail.subject, 'Choose a new password')
      assert.match(mail.text, /works once, for 30 minutes/)
      const token = linkToken(mail.text)
      assert.equal(
        suite.smtp.messages.filter((m) => m.to.includes(stranger)).length,
        0,
        'no mail for no account',
      )

      // Only a hash of the token is stored.
      const rows = await db().selectFrom('service_user_password_reset').selectAll().execute()
      assert.ok(rows.some((r) => r.token_hash === createHash('sha256').update(token).digest('hex')))
      assert.ok(!rows.some((r) => r.token_hash.includes(token)))

      const weak = await reset(app, token, 'short')
      assert.equal(weak.statusCode, 400, weak.body)
      assert.equal(json(weak).error.code, 'WEAK_PASSWORD')
      const forged = await reset(app, `${token.slice(0, -2)}AA`, NEW_PASSWORD)
      assert.equal(json(forged).error.code, 'INVALID_RESET_TOKEN', forged.body)

      // A weak password did not use the link up.
      const done = await reset(app, token, NEW_PASSWORD)
      assert.equal(done.statusCode, 200, done.body)
      assert.deepEqual(json(done), { status: 'password_reset' })

      const old = await me(app, member.token)
      assert.equal(old.statusCode, 401, old.body)
      assert.equal(json(old).error.code, 'TOKEN_REVOKED')
      assert.equal((await login(app, member.email, member.password)).statusCode, 401)
      const fresh = await login(app, member.email, NEW_PASSWORD)
      assert.equal(fresh.statusCode, 200, fresh.body)
      assert.equal((await me(app, json(fresh).token)).statusCode, 200)

      const again = await reset(app, token, 'yet another passphrase 8')
      assert.equal(again.statusCode, 400, again.body)
      assert.equal(json(again).error.code, 'INVALID_RESET_TOKEN')
    })

    it('honours only the latest link, none past 30 minutes, and counts the asks per address', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      assert.equal((await ask(app, member.email, '203.0.113.1')).statusCode, 202)
      const first = linkToken((await suite.smtp.waitForMessage(member.email)).text)
      assert.equal((await ask(app, member.email, '203.0.113.2')).statusCode, 202)
      const second = linkToken((await waitForNth(suite.smtp, member.email, 2)).text)
      assert.notEqual(first, second)
      assert.equal(json(await reset(app, first, NEW_PASSWORD)).error.code, 'INVALID_RESET_TOKEN')

      await db()
        .updateTable('service_user_password_reset')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .execute()
      assert.equal(json(await reset(app, second, NEW_PASSWORD)).error.code, 'INVALID_RESET_TOKEN')

      // Three asks an hour per address, from any network.
      assert.equal((await ask(app, member.email, '203.0.113.3')).statusCode, 202)
      const over = await ask(app, member.email, '203.0.113.4')
      assert.equal(over.statusCode, 429, over.body)
      assert.equal(json(over).error.code, 'RATE_LIMITED')
      assert.ok(Number(over.headers['retry-after']) > 0)
    })

    it('gives the mailbox owner an account someone joined with their address, and ends the squatter', async () => {
      const { app } = suite.ctx
      const email = `owner_${randomBytes(4).toString('hex')}@example.org`
      const { token: guest } = await guestToken(app)
      const squat = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: `Bearer ${guest}` },
        payload: { campaign: suite.slug, name: 'Not the owner', email },
      })
      assert.equal(squat.statusCode, 201, squat.body)
      assert.equal((await me(app, json(squat).token)).statusCode, 200)

      assert.equal((await ask(app, email)).statusCode, 202)
      const token = linkToken((await suite.smtp.waitForMessage(email)).text)
      assert.equal((await reset(app, token, NEW_PASSWORD)).statusCode, 200)
      assert.equal((await me(app, json(squat).token)).statusCode, 401, 'the squatter is out')
      assert.equal((await me(app, guest)).statusCode, 401, 'and so is the guest session they joined from')
      assert.equal((await login(app, email, NEW_PASSWORD)).statusCode, 200)
    })

    it("starts the address's login budget again on the network the reset was made from", async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const ip = '198.51.100.99'
      const loginFrom = (password: string) =>
        app
          .inject({
            method: 'POST',
            url: '/api/auth/login',
            headers: { 'x-forwarded-for': ip },
            payload: { email: member.email, password },
          })
          .then((r) => r.statusCode)
      // Someone (the owner, forgetful) spent most of the address's budget on this network: 5.
      for (let i = 0; i < 4; i++) assert.equal(await loginFrom('not it at all 1'), 401)
      assert.equal((await ask(app, member.email, ip)).statusCode, 202)
      const token = linkToken((await suite.smtp.waitForMessage(member.email)).text)
      const done = await app.inject({
        method: 'POST',
        url: '/api/auth/password/reset',
        headers: { 'x-forwarded-for': ip },
        payload: { token, password: NEW_PASSWORD },
      })
      assert.equal(done.statusCode, 200, done.body)
      for (let i = 0; i < 5; i++) assert.equal(await loginFrom('still not it 2'), 401, `attempt ${i + 1}`)
      assert.equal(await loginFrom(NEW_PASSWORD), 429, 'the budget holds again past its five')
    })

    it('sends nothing for an erased person, and their link stops working', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      assert.equal((await ask(app, member.email)).statusCode, 202)
      const token = linkToken((await suite.smtp.waitForMessage(member.email)).text)
      const id = json(await me(app, member.token)).user.id
      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${id}`,
        headers: { authorization: `Bearer ${member.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const left = await db()
        .selectFrom('service_user_password_reset')
        .select('token_hash')
        .where('user_id', '=', id)
        .execute()
      assert.deepEqual(left, [], 'erasure takes the links')
      assert.equal(json(await reset(app, token, NEW_PASSWORD)).error.code, 'INVALID_RESET_TOKEN')
      const before = suite.smtp.messages.length
      assert.equal((await ask(app, member.email)).statusCode, 202)
      // A later mail to someone else arrives after whatever that ask would have sent.
      const other = await joinWithPassword(app, suite.slug)
      assert.equal((await ask(app, other.email, '192.0.2.9')).statusCode, 202)
      await suite.smtp.waitForMessage(other.email)
      assert.equal(suite.smtp.messages.length, before + 1)
    })

    it('mails an address with an internationalised domain at its ASCII form', async () => {
      const { app } = suite.ctx
      const local = `jose_${randomBytes(4).toString('hex')}`
      const { token: guest } = await guestToken(app)
      const joined = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: `Bearer ${guest}` },
        payload: {
          campaign: suite.slug,
          name: 'José',
          email: `${local}@exämple.org`,
          password: 'the old passphrase 1',
        },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      assert.equal((await ask(app, `${local}@exämple.org`, '192.0.2.33')).statusCode, 202)
      // The receiver reads the envelope's domain back to Unicode (as suite.smtp-server does); the header
      // shows what was sent.
      const mail = await suite.smtp.waitForMessage(`${local}@exämple.org`)
      assert.match(mail.headers, new RegExp(`^To: ${local}@xn--exmple-cua\\.org$`, 'm'))
      assert.equal((await reset(app, linkToken(mail.text), NEW_PASSWORD)).statusCode, 200)
    })

    it('refuses bad input with clear codes', async () => {
      const { app } = suite.ctx
      for (const payload of [{}, { email: 'not an address' }, { email: 'a@b.c', extra: 1 }]) {
        const res = await app.inject({ method: 'POST', url: '/api/auth/password/forgot', payload })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
      for (const payload of [
        { token: 'x' },
        { token: '', password: NEW_PASSWORD },
        { token: 'x'.repeat(201), password: NEW_PASSWORD },
      ]) {
        const res = await app.inject({ method: 'POST', url: '/api/auth/password/reset', payload })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
    })
  })
}

/** The `n`th mail to `to`. */
async function waitForNth(smtp: Awaited<ReturnType<typeof startSmtpReceiver>>, to: string, n: number) {
  return waitFor(() => smtp.messages.filter((m) => m.to.includes(to))[n - 1], `mail ${n} to ${to}`)
}
