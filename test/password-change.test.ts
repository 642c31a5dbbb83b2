// `POST /api/auth/password`: a person signed in changes their password with the current one. Every
// session of theirs ends, the one that asked too, and the answer is a login's (a new session); a
// notice is mailed through a real SMTP server. A wrong current password is a guess, counted as a
// login's; a weak new one, an account without a password, a guest session, an API key and a body
// that is not a change are refused, each changing nothing.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createClient, OvasabiError } from '../client/index.js'
import { mailingSuite } from './fixtures/mailing-suite.js'
import {
  ADMIN_KEY,
  DIALECTS,
  guestToken,
  joinWithPassword,
  json,
  listenLocally,
  logInElsewhere,
  newMember,
} from './helper.js'
import { waitFor } from './wait-for.js'

const NEW_PASSWORD = 'a brand new passphrase 7'

/** Each test's own client network, so no test spends another's login budget. */
const network = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`

const change = (app: FastifyInstance, token: string, payload: unknown, ip = network()) =>
  app.inject({
    method: 'POST',
    url: '/api/auth/password',
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip },
    payload: payload as object,
  })
const login = (app: FastifyInstance, email: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
const me = (app: FastifyInstance, token: string) =>
  app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })

for (const dialect of DIALECTS) {
  describe(`POST /api/auth/password (${dialect})`, () => {
    const suite = mailingSuite(dialect)

    it('sets the new password, ends every session of the person and answers with a new one', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const phone = await logInElsewhere(app, suite.slug, member)
      // A reset link asked for before the change works no more after it.
      const asked = await app.inject({
        method: 'POST',
        url: '/api/auth/password/forgot',
        headers: { 'x-forwarded-for': network() },
        payload: { email: member.email },
      })
      assert.equal(asked.statusCode, 202, asked.body)
      const link = (await suite.smtp.waitForMessage(member.email)).text.match(/#token=(\S+)/)?.[1]
      assert.ok(link)

      const res = await change(app, member.token, {
        current_password: member.password,
        password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = json(res)
      assert.equal(body.user.email, member.email)
      assert.equal(typeof body.token, 'string')
      assert.ok(Date.parse(body.expires_at) > Date.now())
      const before = json(await me(app, body.token))
      assert.equal(before.user.email, member.email, 'the new token is the person’s')
      assert.equal(before.session_id, body.session_id)

      for (const [who, token] of [
        ['the token that asked', member.token],
        ['another device', phone.token],
        ['its guest session', phone.guest],
      ] as const) {
        const old = await me(app, token)
        assert.equal(old.statusCode, 401, `${who}: ${old.body}`)
        assert.equal(json(old).error.code, 'TOKEN_REVOKED', who)
      }
      assert.equal((await login(app, member.email, member.password)).statusCode, 401)
      assert.equal((await login(app, member.email, NEW_PASSWORD)).statusCode, 200)
      const reset = await app.inject({
        method: 'POST',
        url: '/api/auth/password/reset',
        payload: { token: link, password: 'the link is spent 9' },
      })
      assert.equal(reset.statusCode, 400, reset.body)
      assert.equal(json(reset).error.code, 'INVALID_RESET_TOKEN')

      const notice = await waitFor(
        () =>
          suite.smtp.messages.find(
            (m) => m.to.includes(member.email) && m.subject === 'Your password was changed',
          ),
        'the notice',
      )
      assert.match(
        notice.text,
        new RegExp(`The password of ${member.email} on launch\\.example\\.org was just changed`),
      )
      assert.match(notice.text, /Forgot your password\?/)
      assert.doesNotMatch(notice.text, /https?:\/\//, 'no link to follow in a mail anyone could fake')
    })

    it('refuses a wrong current password as a login’s guess, and changes nothing', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const ip = network()
      // The address's budget on one network is 5 guesses, whichever route they come by.
      for (let i = 0; i < 5; i++) {
        const wrong = await change(
          app,
          member.token,
          { current_password: `not it ${i} at all`, password: NEW_PASSWORD },
          ip,
        )
        assert.equal(wrong.statusCode, 403, wrong.body)
        assert.equal(json(wrong).error.code, 'WRONG_PASSWORD')
      }
      const limited = await change(
        app,
        member.token,
        { current_password: member.password, password: NEW_PASSWORD },
        ip,
      )
      assert.equal(limited.statusCode, 429, limited.body)
      assert.ok(Number(limited.headers['retry-after']) > 0)
      assert.equal((await me(app, member.token)).statusCode, 200, 'the session goes on')
      assert.equal((await login(app, member.email, member.password)).statusCode, 200)
      assert.equal((await login(app, member.email, NEW_PASSWORD)).statusCode, 401)
    })

    it('refuses a new password too easy to guess, naming each problem, and changes nothing', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const weak = await change(app, member.token, {
        current_password: member.password,
        password: 'aaaaaaaa',
      })
      assert.equal(weak.statusCode, 400, weak.body)
      const error = json(weak).error
      assert.equal(error.code, 'WEAK_PASSWORD')
      assert.ok(error.details.length >= 2, weak.body)
      assert.ok(error.details.every((d: { path: string }) => d.path === '/password'))
      assert.equal((await me(app, member.token)).statusCode, 200)
      assert.equal((await login(app, member.email, member.password)).statusCode, 200)
    })

    it('is for a person with a password: not an account without one, a guest session or an API key', async () => {
      const { app } = suite.ctx
      const passwordless = await newMember(app, suite.slug)
      const none = await change(app, passwordless.token, {
        current_password: 'anything at all 1',
        password: NEW_PASSWORD,
      })
      assert.equal(none.statusCode, 409, none.body)
      assert.equal(json(none).error.code, 'PASSWORD_NOT_SET')
      assert.match(json(none).error.message, /password\/forgot/)
      assert.equal((await me(app, passwordless.token)).statusCode, 200)

      const { token: guest } = await guestToken(app)
      const asGuest = await change(app, guest, {
        current_password: 'anything at all 1',
        password: NEW_PASSWORD,
      })
      assert.equal(asGuest.statusCode, 403, asGuest.body)
      assert.equal(json(asGuest).error.code, 'PERSON_REQUIRED')
      const asKey = await app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: { 'x-api-key': ADMIN_KEY },
        payload: { current_password: 'anything at all 1', password: NEW_PASSWORD },
      })
      assert.equal(asKey.statusCode, 403, asKey.body)
      assert.equal(json(asKey).error.code, 'PERSON_REQUIRED')
      const anonymous = await app.inject({
        method: 'POST',
        url: '/api/auth/password',
        payload: { current_password: 'anything at all 1', password: NEW_PASSWORD },
      })
      assert.equal(anonymous.statusCode, 401, anonymous.body)
    })

    it('refuses a body that is not a change, and an erased person’s token', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      const bodies: unknown[] = [
        {},
        { password: NEW_PASSWORD },
        { current_password: member.password },
        { current_password: member.password, password: NEW_PASSWORD, email: 'someone.else@example.org' },
        { current_password: member.password, password: 7 },
        { current_password: member.password, password: 'x'.repeat(257) },
        { current_password: '', password: NEW_PASSWORD },
        [],
      ]
      for (const payload of bodies) {
        const res = await change(app, member.token, payload)
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', res.body)
      }
      assert.equal((await login(app, member.email, member.password)).statusCode, 200)

      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${json(await me(app, member.token)).user_id}`,
        headers: { authorization: `Bearer ${member.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const after = await change(app, member.token, {
        current_password: member.password,
        password: NEW_PASSWORD,
      })
      assert.equal(after.statusCode, 401, after.body)
    })

    it('allows a person 10 changes an hour', async () => {
      const { app } = suite.ctx
      const member = await joinWithPassword(app, suite.slug)
      let { token, password } = member
      for (let i = 0; i < 10; i++) {
        const next = `${NEW_PASSWORD} number ${i}`
        const res = await change(app, token, { current_password: password, password: next })
        assert.equal(res.statusCode, 200, `change ${i + 1}: ${res.body}`)
        token = json(res).token
        password = next
      }
      const over = await change(app, token, {
        current_password: password,
        password: 'one change too many 11',
      })
      assert.equal(over.statusCode, 429, over.body)
      assert.equal(json(over).error.code, 'RATE_LIMITED')
      assert.equal((await login(app, member.email, password)).statusCode, 200, 'the tenth change holds')
    })

    it('is the SDK’s users.changePassword, which takes the new token', async () => {
      const member = await joinWithPassword(suite.ctx.app, suite.slug)
      const client = createClient({ baseUrl: await listenLocally(suite.ctx.app), token: member.token })
      await assert.rejects(
        client.users.changePassword({
          current_password: `wrong ${randomBytes(3).toString('hex')} 1`,
          password: NEW_PASSWORD,
        }),
        (err: unknown) => err instanceof OvasabiError && err.status === 403 && err.code === 'WRONG_PASSWORD',
      )
      const changed = await client.users.changePassword({
        current_password: member.password,
        password: NEW_PASSWORD,
      })
      // The old token is refused from now on: the client asks with the new one.
      const who = await client.auth.me()
      assert.equal(who.session_id, changed.session_id)
      assert.equal(who.user?.email, member.email)
    })
  })
}
