import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createRevocations } from '../src/modules/user/revocations.js'
import { createUserService } from '../src/modules/user/user.service.js'
import { createAuthenticator } from '../src/platform/auth/plugin.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'

const PASSWORD = 'correct horse 42'
const email = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/**
 * A node trusts a "not revoked" answer for 10 s (revocations.ts); these tests read what every
 * node answers once that has passed, by moving `Date` past it. Each call moves further than the
 * last, so nothing a previous call cached is still trusted.
 */
function createClock() {
  let ahead = 0
  return async function later<T>(check: () => Promise<T>): Promise<T> {
    ahead += 11_000
    mock.timers.enable({ apis: ['Date'], now: Date.now() + ahead })
    try {
      return await check()
    } finally {
      mock.timers.reset()
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`user sessions: guest logins and logout (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let slug: string
    const later = createClock()

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
      slug = await createCampaign(app)
    })
    after(async () => {
      mock.timers.reset()
      await ctx.close()
    })

    const member = async (tag: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        payload: { campaign: slug, email: email(tag), name: tag, password: PASSWORD },
      })
      assert.equal(res.statusCode, 201, res.body)
      return json(res) as { user: { id: string; email: string }; token: string; session_id: string }
    }
    const login = async (address: string, token?: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: token ? bearer(token) : {},
        payload: { email: address, password: PASSWORD },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res) as { token: string; session_id: string }
    }
    const track = (token: string, note: string) =>
      app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(token),
        payload: { action: 'content.create', data: { note } },
      })
    /** The status a token gets on REST, and the error code with a refusal. */
    const answer = async (token: string) => {
      const res = await track(token, 'still here?')
      return res.statusCode === 200 ? 200 : `${res.statusCode} ${json(res).error.code}`
    }
    const erase = async (userId: string) => {
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/user/${userId}`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const logout = (token: string | undefined, all = false) =>
      app.inject({
        method: 'POST',
        url: all ? '/api/auth/logout/all' : '/api/auth/logout',
        headers: token ? bearer(token) : {},
      })
    const guestPayloads = async (sessionId: string) =>
      (
        await app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('payload')
          .where('session_id', '=', sessionId)
          .where('user_id', '=', 'guest')
          .where('event', '=', 'content.create')
          .execute()
      ).map((e) => e.payload)

    it('erasing a person who logged in from a guest session erases that session and revokes it', async () => {
      const person = await member('lin')
      const guest = await guestToken(app)
      assert.equal((await track(guest.token, `call Lin at ${person.user.email}`)).statusCode, 200)
      const ticket = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(guest.token),
        payload: { action: 'upload_media', data: { filename: 'Lin.jpg', content_type: 'image/jpeg' } },
      })
      assert.equal(ticket.statusCode, 200, ticket.body)
      const upload = json(ticket).result.media_id as string
      // The login continues the guest session: the visitor's earlier events are theirs.
      const loggedIn = await login(person.user.email, guest.token)
      assert.equal(loggedIn.session_id, guest.session_id)

      await erase(person.user.id)

      assert.deepEqual(await guestPayloads(guest.session_id), [{ erased: true }])
      const media = await app.platform.database.db
        .selectFrom('service_media_main')
        .select('id')
        .where('id', '=', upload)
        .executeTakeFirst()
      assert.equal(media, undefined, 'the upload made before the login is gone')
      assert.equal(await answer(guest.token), '401 TOKEN_REVOKED')
      assert.equal(await answer(loggedIn.token), '401 TOKEN_REVOKED')
    })

    it('a session another person also logged in from stays theirs when one of them is erased', async () => {
      const ann = await member('ann')
      const bob = await member('bob')
      const guest = await guestToken(app)
      const annHere = await login(ann.user.email, guest.token)
      const bobHere = await login(bob.user.email, guest.token)
      assert.equal(bobHere.session_id, guest.session_id)

      await erase(ann.user.id)

      assert.equal(await answer(annHere.token), '401 TOKEN_REVOKED')
      assert.equal(await later(() => answer(guest.token)), 200)
      assert.equal(await later(() => answer(bobHere.token)), 200)
    })

    it('a password member joining again from another guest session has that session erased with them', async () => {
      const person = await member('joy')
      const guest = await guestToken(app)
      assert.equal((await track(guest.token, 'before joining again')).statusCode, 200)
      const again = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(guest.token),
        payload: { campaign: slug, email: person.user.email, name: 'Joy', password: PASSWORD },
      })
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(json(again).session_id, guest.session_id)

      await erase(person.user.id)

      assert.deepEqual(await guestPayloads(guest.session_id), [{ erased: true }])
      assert.equal(await answer(guest.token), '401 TOKEN_REVOKED')
    })

    it('logout ends the caller’s session: its user and guest tokens stop working, nobody else’s', async () => {
      const person = await member('max')
      const guest = await guestToken(app)
      const here = await login(person.user.email, guest.token)
      const other = await member('ola')
      assert.equal(await answer(here.token), 200)
      assert.equal(await answer(other.token), 200)

      const res = await logout(here.token)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(json(res), { status: 'logged_out', all: false })

      assert.equal(await later(() => answer(here.token)), '401 TOKEN_REVOKED')
      assert.equal(await later(() => answer(guest.token)), '401 TOKEN_REVOKED')
      // Their token from another session, and another person's, still work.
      assert.equal(await later(() => answer(person.token)), 200)
      assert.equal(await later(() => answer(other.token)), 200)
      // A new login works.
      assert.equal(await answer((await login(person.user.email)).token), 200)
    })

    it('logout everywhere refuses every token of the person, from every session', async () => {
      const person = await member('eve')
      const guest = await guestToken(app)
      const phone = await login(person.user.email, guest.token)
      const laptop = await login(person.user.email)
      // A login without a guest token starts a session nothing else names: only the cut-off finds it.
      const tablet = await login(person.user.email)
      const other = await member('kim')
      assert.notEqual(phone.session_id, laptop.session_id)

      const res = await logout(laptop.token, true)
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.equal(body.status, 'logged_out')
      assert.equal(body.all, true)
      assert.ok(!Number.isNaN(Date.parse(body.tokens_valid_after)))

      for (const token of [laptop.token, tablet.token, phone.token, person.token, guest.token]) {
        assert.equal(await later(() => answer(token)), '401 TOKEN_REVOKED')
      }
      assert.equal(await later(() => answer(other.token)), 200)
      // Logging in again gives a token issued after the cut-off: it works.
      assert.equal(await later(async () => answer((await login(person.user.email)).token)), 200)
      // Also from a client still sending its dead token: the password decides, not the token.
      const again = await later(() => login(person.user.email, laptop.token))
      assert.notEqual(again.session_id, laptop.session_id)
      assert.equal(await later(() => answer(again.token)), 200)
      const joined = await later(() =>
        app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: bearer(laptop.token),
          payload: { campaign: slug, email: email('newcomer'), name: 'newcomer' },
        }),
      )
      assert.equal(joined.statusCode, 201, joined.body)
    })

    it('answers a logout without a token 401, and one with an API key 403', async () => {
      for (const all of [false, true]) {
        const res = await logout(undefined, all)
        assert.equal(res.statusCode, 401, res.body)
        assert.equal(json(res).error.code, 'UNAUTHORIZED')
      }
      const key = await app.platform.apiKeys.create({
        name: `k_${randomBytes(3).toString('hex')}`,
        role: 'editor',
      })
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { 'x-api-key': key.key },
      })
      assert.equal(res.statusCode, 403, res.body)
      assert.equal(json(res).error.code, 'NOT_A_SESSION')
    })

    it('a node that was told of a logout refuses the token at once', async () => {
      // Wired as in app.ts: the authenticator's revocation cache is the one the service tells.
      const { db } = app.platform.database
      const revocations = createRevocations(db)
      const node = createAuthenticator({
        tokens: app.platform.tokens,
        apiKeys: app.platform.apiKeys,
        isRevoked: revocations.isRevoked,
      })
      const users = createUserService({
        db,
        tokens: app.platform.tokens,
        publisher: app.publisher,
        limiter: createRateLimiter(),
        revocations,
      })
      const person = await member('ida')
      const one = await users.login({ email: person.user.email, password: PASSWORD }, { ip: '10.9.0.1' })
      const two = await users.login({ email: person.user.email, password: PASSWORD }, { ip: '10.9.0.1' })
      const three = await users.login({ email: person.user.email, password: PASSWORD }, { ip: '10.9.0.1' })
      const principal = await node.resolve(one.token)
      await node.resolve(two.token)
      await node.resolve(three.token)

      await users.logout(principal, { all: false })
      await assert.rejects(node.resolve(one.token), { code: 'TOKEN_REVOKED' })
      await node.resolve(two.token)

      await users.logout(await node.resolve(two.token), { all: true })
      await assert.rejects(node.resolve(two.token), { code: 'TOKEN_REVOKED' })
      await assert.rejects(node.resolve(three.token), { code: 'TOKEN_REVOKED' })
      await assert.rejects(node.resolve(person.token), { code: 'TOKEN_REVOKED' })
      // A login after it gets a token issued after the cut-off.
      const four = await users.login({ email: person.user.email, password: PASSWORD }, { ip: '10.9.0.1' })
      await node.resolve(four.token)
    })
  })

  describe(`logout closes open sockets at the re-check (${dialect})`, () => {
    let ctx: TestContext
    const clients: TestClient[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      mock.timers.reset()
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('closes the logged-out token’s socket (1008 TOKEN_REVOKED) and keeps another person’s', async () => {
      const { app } = ctx
      const slug = await createCampaign(app)
      const join = async (tag: string) => {
        const res = await app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, email: email(tag), name: tag },
        })
        assert.equal(res.statusCode, 201, res.body)
        return json(res) as { user: { id: string }; token: string }
      }
      const open = async (who: { user: { id: string }; token: string }) => {
        const c = await connect(`${baseUrl(app)}/ws/${slug}/${who.user.id}?token=${who.token}`)
        clients.push(c)
        return c
      }
      const leaving = await join('leo')
      const staying = await join('sam')
      const leavingSocket = await open(leaving)
      const stayingSocket = await open(staying)

      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: bearer(leaving.token),
      })
      assert.equal(res.statusCode, 200, res.body)

      // Past the gateway's 30 s re-check (the clock only: no test waits that long).
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 31_000 })
      try {
        for (let i = 0; !leavingSocket.closed; i++) {
          if (i >= 2000) throw new Error('the logged-out socket was not closed')
          await new Promise((r) => setTimeout(r, 25))
        }
      } finally {
        mock.timers.reset()
      }
      assert.deepEqual(leavingSocket.closed, { code: 1008, reason: 'TOKEN_REVOKED' })
      assert.ok(leavingSocket.frames.some((f) => f.type === 'error' && f.code === 'TOKEN_REVOKED'))
      const from = stayingSocket.frames.length
      stayingSocket.send({ type: 'ping' })
      await stayingSocket.next((f) => f.type === 'pong', 10_000, from)
      assert.equal(stayingSocket.closed, undefined)
    })
  })
}
