// `GET /api/auth/sessions` and `DELETE /api/auth/sessions/{id}`: where a person is signed in (each
// session a token of theirs may still work for, with the browser and network it last came from),
// and ending one of them as a logout there would. Sessions logged out, cut off (log out
// everywhere, a password change) or ended are not listed; nobody lists or ends another's.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createClient, OvasabiError } from '../client/index.js'
import { recordSignIn } from '../src/modules/user/signins.repo.js'
import { erase, lockForErasure } from '../src/modules/user/user.repo.js'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  joinWithPassword,
  json,
  listenLocally,
  type Member,
  newMember,
  type TestContext,
} from './helper.js'
import { requestWhileHolding } from './pg-lock-fixtures.js'

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148'

const as = (token: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  ...extra,
})
const list = (app: FastifyInstance, token: string) =>
  app.inject({ url: '/api/auth/sessions', headers: as(token) })
const end = (app: FastifyInstance, token: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/api/auth/sessions/${encodeURIComponent(id)}`, headers: as(token) })
const me = (app: FastifyInstance, token: string) => app.inject({ url: '/api/auth/me', headers: as(token) })

/** `member` logs in from a browser (`ua`) on a network (`ip`): the new session's token and id. */
async function logIn(app: FastifyInstance, member: Member, ua: string, ip: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'user-agent': ua, 'x-forwarded-for': ip },
    payload: { email: member.email, password: member.password },
  })
  assert.equal(res.statusCode, 200, res.body)
  return { token: json(res).token as string, session: json(res).session_id as string }
}

for (const dialect of DIALECTS) {
  describe(`where a person is signed in (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app)
    })
    after(() => ctx?.close())

    it('lists each session with its browser and network, the one asking marked', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const laptop = await logIn(app, member, FIREFOX, '198.51.100.23')
      const phone = await logIn(app, member, PHONE, '2001:db8:5:6:7::9')
      const res = await list(app, laptop.token)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const sessions = json(res).sessions as Array<Record<string, unknown>>
      // The join's session too: three, the most recently active first.
      assert.equal(sessions.length, 3, res.body)
      assert.deepEqual(
        sessions.slice(0, 2).map((s) => [s.session_id, s.current, s.user_agent, s.network]),
        [
          [phone.session, false, PHONE, '2001:db8:5:6::/64'],
          [laptop.session, true, FIREFOX, '198.51.100.23'],
        ],
      )
      for (const s of sessions) {
        assert.ok(Date.parse(s.signed_in_at as string) <= Date.parse(s.last_active_at as string) + 1000)
      }

      // A refresh is activity, not a new sign-in: the laptop comes first, signed in when it was.
      const refreshed = await app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        headers: as(laptop.token, { 'user-agent': `${FIREFOX} updated`, 'x-forwarded-for': '198.51.100.24' }),
      })
      assert.equal(refreshed.statusCode, 200, refreshed.body)
      const after = json(await list(app, laptop.token)).sessions
      assert.equal(after[0].session_id, laptop.session)
      assert.equal(after[0].user_agent, `${FIREFOX} updated`)
      assert.equal(after[0].network, '198.51.100.24')
      assert.equal(after[0].signed_in_at, sessions[1]!.signed_in_at)
    })

    it('ends another session at once, its tokens refused, and the caller’s own too', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const laptop = await logIn(app, member, FIREFOX, '198.51.100.31')
      const phone = await logIn(app, member, PHONE, '198.51.100.32')
      const ended = await end(app, laptop.token, phone.session)
      assert.equal(ended.statusCode, 200, ended.body)
      assert.deepEqual(json(ended), { status: 'ended', session_id: phone.session, current: false })
      const refused = await me(app, phone.token)
      assert.equal(refused.statusCode, 401, refused.body)
      assert.equal(json(refused).error.code, 'TOKEN_REVOKED')
      assert.equal((await me(app, laptop.token)).statusCode, 200)
      const listed = json(await list(app, laptop.token)).sessions.map(
        (s: { session_id: string }) => s.session_id,
      )
      assert.ok(!listed.includes(phone.session), JSON.stringify(listed))
      // Ending it again answers as the first time.
      assert.equal((await end(app, laptop.token, phone.session)).statusCode, 200)

      const own = await end(app, laptop.token, laptop.session)
      assert.equal(own.statusCode, 200, own.body)
      assert.equal(json(own).current, true)
      assert.equal((await me(app, laptop.token)).statusCode, 401)
    })

    it('signs out everywhere else, going on with a new token of the same session', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const laptop = await logIn(app, member, FIREFOX, '198.51.100.81')
      const phone = await logIn(app, member, PHONE, '198.51.100.82')
      const before = json(await list(app, laptop.token)).sessions.find((s: { current: boolean }) => s.current)
      const out = await app.inject({
        method: 'POST',
        url: '/api/auth/logout/others',
        headers: as(laptop.token, { 'user-agent': FIREFOX }),
      })
      assert.equal(out.statusCode, 200, out.body)
      assert.equal(out.headers['cache-control'], 'no-store')
      const going = json(out)
      assert.equal(going.session_id, laptop.session)
      assert.notEqual(going.token, laptop.token)
      for (const gone of [phone.token, member.token, laptop.token]) {
        const refused = await me(app, gone)
        assert.equal(refused.statusCode, 401, refused.body)
        assert.equal(json(refused).error.code, 'TOKEN_REVOKED')
      }
      assert.equal((await me(app, going.token)).statusCode, 200)
      const listed = json(await list(app, going.token)).sessions
      assert.deepEqual(
        listed.map((s: { session_id: string; current: boolean; user_agent: string }) => [
          s.session_id,
          s.current,
          s.user_agent,
        ]),
        [[laptop.session, true, FIREFOX]],
      )
      // The session goes on as it was: signed in when it was (its maximum age counts from then).
      assert.equal(listed[0].signed_in_at, before.signed_in_at)
      // The sessions ended stay ended: their guest tokens do not join them again either.
      const again = await app.inject({ method: 'POST', url: '/api/auth/refresh', headers: as(phone.token) })
      assert.equal(again.statusCode, 401, again.body)
    })

    it('lets only a person sign out elsewhere, a few times a quarter hour', async () => {
      const { app } = ctx
      const { token: guest } = await guestToken(app)
      const key = await app.inject({
        method: 'POST',
        url: '/api/auth/logout/others',
        headers: { 'x-api-key': ADMIN_KEY },
      })
      const asGuest = await app.inject({ method: 'POST', url: '/api/auth/logout/others', headers: as(guest) })
      for (const res of [key, asGuest]) {
        assert.equal(res.statusCode, 403, res.body)
        assert.equal(json(res).error.code, 'PERSON_REQUIRED')
      }
      const member = await joinWithPassword(app, slug)
      let token = member.token
      for (let i = 0; i < 10; i++) {
        const res = await app.inject({ method: 'POST', url: '/api/auth/logout/others', headers: as(token) })
        assert.equal(res.statusCode, 200, res.body)
        token = json(res).token
      }
      const over = await app.inject({ method: 'POST', url: '/api/auth/logout/others', headers: as(token) })
      assert.equal(over.statusCode, 429, over.body)
      assert.ok(Number(over.headers['retry-after']) > 0)
      assert.equal((await me(app, token)).statusCode, 200, 'a refusal ends nothing')
    })

    it('lists only what log out everywhere and a password change left', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const laptop = await logIn(app, member, FIREFOX, '198.51.100.41')
      await logIn(app, member, PHONE, '198.51.100.42')
      const out = await app.inject({ method: 'POST', url: '/api/auth/logout/all', headers: as(laptop.token) })
      assert.equal(out.statusCode, 200, out.body)
      const again = await logIn(app, member, FIREFOX, '198.51.100.43')
      const listed = json(await list(app, again.token)).sessions
      assert.deepEqual(
        listed.map((s: { session_id: string }) => s.session_id),
        [again.session],
      )

      const changed = await app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: as(again.token, { 'user-agent': PHONE, 'x-forwarded-for': '198.51.100.44' }),
        payload: { current_password: member.password, password: 'a brand new passphrase 7' },
      })
      assert.equal(changed.statusCode, 200, changed.body)
      const now = json(await list(app, json(changed).token)).sessions
      assert.deepEqual(
        now.map((s: { session_id: string; current: boolean; user_agent: string }) => [
          s.session_id,
          s.current,
          s.user_agent,
        ]),
        [[json(changed).session_id, true, PHONE]],
      )
    })

    it('shows nobody another’s sessions, and lets nobody end them', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const laptop = await logIn(app, member, FIREFOX, '198.51.100.51')
      const other = await newMember(app, slug, 'other')
      const theirs = json(await list(app, other.token)).sessions
      assert.equal(theirs.length, 1)
      assert.ok(!JSON.stringify(theirs).includes(laptop.session))
      const denied = await end(app, other.token, laptop.session)
      assert.equal(denied.statusCode, 404, denied.body)
      assert.equal(json(denied).error.code, 'SESSION_NOT_FOUND')
      assert.equal((await me(app, laptop.token)).statusCode, 200)

      const { token: guest } = await guestToken(app)
      for (const headers of [as(guest), { 'x-api-key': ADMIN_KEY }]) {
        const listed = await app.inject({ url: '/api/auth/sessions', headers })
        assert.equal(listed.statusCode, 403, listed.body)
        assert.equal(json(listed).error.code, 'PERSON_REQUIRED')
        const ended = await app.inject({
          method: 'DELETE',
          url: `/api/auth/sessions/${laptop.session}`,
          headers,
        })
        assert.equal(ended.statusCode, 403, ended.body)
      }
      assert.equal((await app.inject({ url: '/api/auth/sessions' })).statusCode, 401)
      assert.equal((await end(app, laptop.token, 'x'.repeat(65))).statusCode, 400)
      assert.equal((await me(app, laptop.token)).statusCode, 200)
    })

    it('keeps a browser’s name short, and forgets where an erased person was signed in', async () => {
      const { app } = ctx
      const member = await joinWithPassword(app, slug)
      const long = await logIn(app, member, `${FIREFOX} ${'x'.repeat(2000)}`, '198.51.100.61')
      const listed = json(await list(app, long.token)).sessions
      assert.equal(listed[0].user_agent.length, 300)
      const id = json(await me(app, long.token)).user_id
      const erased = await app.inject({ method: 'DELETE', url: `/api/user/${id}`, headers: as(long.token) })
      assert.equal(erased.statusCode, 200, erased.body)
      const rows = await ctx.app.platform.database.db
        .selectFrom('service_user_signin')
        .select('session_id')
        .where('user_id', '=', id)
        .execute()
      assert.deepEqual(rows, [])
    })

    it('records no sign-in for an erased person, nor for one whose erasure commits meanwhile', async () => {
      const db = ctx.app.platform.database.db
      const signIn = (userId: string) =>
        recordSignIn(db, {
          userId,
          sessionId: `sess_late_${userId}`,
          userAgent: FIREFOX,
          network: '198.51.100.0',
          signedInAt: new Date(),
          issuedAt: new Date(),
          cutOff: null,
        })
      const rowsOf = (userId: string) =>
        db.selectFrom('service_user_signin').select('session_id').where('user_id', '=', userId).execute()
      const gone = await joinWithPassword(ctx.app, slug)
      const goneId = json(await me(ctx.app, gone.token)).user_id
      const erased = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/user/${goneId}`,
        headers: as(gone.token),
      })
      assert.equal(erased.statusCode, 200, erased.body)
      await signIn(goneId)
      assert.deepEqual(await rowsOf(goneId), [])
      // A login's token issued just before the erasure took the person's row: its sign-in waits
      // for the erasure, then finds them erased. (One connection on PGlite: nothing can race.)
      if (dialect !== 'postgres') return
      const racing = await joinWithPassword(ctx.app, slug)
      const racingId = json(await me(ctx.app, racing.token)).user_id
      await requestWhileHolding(
        db,
        (trx) => lockForErasure(trx, racingId),
        () => signIn(racingId),
        async (trx) => {
          await trx.deleteFrom('service_user_signin').where('user_id', '=', racingId).execute()
          await erase(trx, racingId)
        },
        'a sign-in racing an erasure',
      )
      assert.deepEqual(await rowsOf(racingId), [])
    })

    it('is the SDK’s auth.sessions, auth.logoutOthers and auth.endSession, which forgets its own token', async () => {
      const member = await joinWithPassword(ctx.app, slug)
      const laptop = await logIn(ctx.app, member, FIREFOX, '198.51.100.71')
      const phone = await logIn(ctx.app, member, PHONE, '198.51.100.72')
      const client = createClient({ baseUrl: await listenLocally(ctx.app), token: laptop.token })
      const going = await client.auth.logoutOthers()
      assert.equal(going.session_id, laptop.session)
      assert.equal((await me(ctx.app, phone.token)).statusCode, 401)
      // The client goes on with the token answered.
      const { sessions } = await client.auth.sessions()
      assert.deepEqual(
        sessions.map((s) => [s.session_id, s.current]),
        [[laptop.session, true]],
      )
      const ended = await client.auth.endSession(laptop.session)
      assert.equal(ended.current, true)
      await assert.rejects(
        client.auth.sessions(),
        (err: unknown) => err instanceof OvasabiError && err.status === 401,
        'no token is sent any more',
      )
    })
  })
}
