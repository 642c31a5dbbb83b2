import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  adminHeaders,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  listenLocally,
  sendAction,
  suiteApp,
} from './helper.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'

/**
 * Registration, login and erasure as a demanding attacker and user would try them: every bad
 * input is a 4xx with our error body, no answer names another person, and an erased person's
 * credentials stop working on REST and on sockets.
 */

const PASSWORD = 'correct horse 42'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const tag = () => randomBytes(4).toString('hex')

function register(
  app: FastifyInstance,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/user/register',
    payload: { name: 'Ada', ...payload },
    headers,
  })
}

let networks = 0
/** A login from its own client network, so one test's attempts never spend another's budget. */
function login(
  app: FastifyInstance,
  payload: Record<string, unknown>,
  network = `10.77.${++networks % 250}.1`,
) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload,
    headers: { 'x-forwarded-for': network },
  })
}

function assertError(res: LightMyRequestResponse, status: number, code: string, what: string) {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`)
  assert.equal(json(res).status, 'error', what)
  assert.equal(json(res).error.code, code, what)
}

/** Someone joins `slug` from a new guest session. */
async function join(app: FastifyInstance, slug: string, extra: Record<string, unknown> = {}) {
  const guest = await guestToken(app)
  const email = `p_${tag()}@example.com`
  const res = await register(app, { campaign: slug, email, ...extra }, bearer(guest.token))
  assert.equal(res.statusCode, 201, res.body)
  const body = json(res)
  return {
    id: body.user.id as string,
    token: body.token as string,
    code: body.user.referral_code as string,
    email,
    guest: guest.token,
  }
}

for (const dialect of DIALECTS) {
  describe(`registration QA 2 (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('stores an address trimmed and lower-cased, and finds it however it is typed', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const { token: guest } = await guestToken(app)
      const local = `Ada_${tag()}`
      const first = await register(
        app,
        { campaign: slug, email: `  ${local}@Example.COM \t`, password: PASSWORD },
        bearer(guest),
      )
      assert.equal(first.statusCode, 201, first.body)
      assert.equal(json(first).user.email, `${local.toLowerCase()}@example.com`)

      // Case, spaces and a full-width domain (what a CJK keyboard types) reach the same person.
      for (const typed of [`${local.toUpperCase()}@EXAMPLE.com`, ` ${local}@ｅｘａｍｐｌｅ.ｃｏｍ `]) {
        const res = await login(app, { email: typed, password: PASSWORD })
        assert.equal(res.statusCode, 200, `${typed}: ${res.body}`)
        assert.equal(json(res).user.id, json(first).user.id, typed)
        const again = await register(app, { campaign: slug, email: typed }, bearer(guest))
        assert.equal(again.statusCode, 409, `${typed}: a password account joins again only with it`)
      }
    })

    it('refuses addresses with NUL, control or invisible characters, and over-long ones, with 400', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const nul = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'content-type': 'application/json' },
        payload: `{"campaign":"${slug}","name":"Ada","email":"a\\u0000b@example.com"}`,
      })
      assertError(nul, 400, 'INVALID_CHARACTER', 'NUL')
      for (const email of [
        'a\u0007b@example.com',
        'a\u001bb@example.com',
        'ada\u200b@example.com',
        'ada\u202e@example.com',
        'ada@exa\u00admple.com',
        `${'a'.repeat(243)}@example.com`,
        'ada@example',
        'ada@@example.com',
      ]) {
        assertError(
          await register(app, { campaign: slug, email }),
          400,
          'VALIDATION_FAILED',
          JSON.stringify(email),
        )
        assertError(
          await login(app, { email, password: PASSWORD }),
          400,
          'VALIDATION_FAILED',
          `login ${JSON.stringify(email)}`,
        )
      }
      // The longest address allowed is taken, and logs in.
      const longest = `${'b'.repeat(254 - 12 - 8)}${tag()}@example.com`
      assert.equal(longest.length, 254)
      const res = await register(app, { campaign: slug, email: longest, password: PASSWORD })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal((await login(app, { email: longest, password: PASSWORD })).statusCode, 200)
    })

    it('refuses a megabyte password unread, and takes a long one that Unicode normalisation expands', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const huge = await register(app, {
        campaign: slug,
        email: `big_${tag()}@example.com`,
        password: 'aB3$'.repeat(262_144),
      })
      assertError(huge, 413, 'PAYLOAD_TOO_LARGE', '1 MB password')
      const tooLong = await register(app, {
        campaign: slug,
        email: `long_${tag()}@example.com`,
        password: `Ab1${'x'.repeat(254)}`,
      })
      assertError(tooLong, 400, 'VALIDATION_FAILED', '257 characters')
      const tooLongLogin = await login(app, { email: `long_${tag()}@example.com`, password: 'x'.repeat(257) })
      assertError(tooLongLogin, 400, 'VALIDATION_FAILED', 'login with 257 characters')

      // U+FDFA is one character that NFKC (applied before hashing) turns into 18.
      const expanding = `${'\uFDFA'.repeat(250)}Ab12!z`
      const email = `wide_${tag()}@example.com`
      const joined = await register(app, { campaign: slug, email, password: expanding })
      assert.equal(joined.statusCode, 201, joined.body)
      assert.equal((await login(app, { email, password: expanding })).statusCode, 200)
      assertError(
        await login(app, { email, password: `${expanding.slice(0, -1)}y` }),
        401,
        'INVALID_CREDENTIALS',
        'one character off',
      )
    })

    it('takes consent only as {text_version} and records it with the person', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      for (const consent of [
        null,
        true,
        'yes',
        [],
        {},
        { text_version: '' },
        { text_version: 'v1', at: '1999-01-01' },
        { text_version: 'x'.repeat(65) },
      ]) {
        const res = await register(app, { campaign: slug, email: `c_${tag()}@example.com`, consent })
        assertError(res, 400, 'VALIDATION_FAILED', JSON.stringify(consent))
      }
      const res = await register(app, {
        campaign: slug,
        email: `c_${tag()}@example.com`,
        consent: { text_version: 'site-2025-01' },
      })
      assert.equal(res.statusCode, 201, res.body)
      const row = await app.platform.database.db
        .selectFrom('service_user_master')
        .select('consent')
        .where('id', '=', json(res).user.id)
        .executeTakeFirstOrThrow()
      const consent = (typeof row.consent === 'string' ? JSON.parse(row.consent) : row.consent) as any
      assert.equal(consent.text_version, 'site-2025-01')
      assert.equal(consent.campaign, slug)
      assert.ok(Math.abs(Date.parse(consent.at) - Date.now()) < 60_000, 'the server stamps when')
    })

    it('answers every stranger joining with a member’s email the same 409, naming nothing of them', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const quiet = await join(app, slug) // no password
      const locked = await join(app, slug, { password: PASSWORD })
      const other = await join(app, slug)
      const { token: stranger } = await guestToken(app)
      for (const member of [quiet, locked]) {
        const attempts: Array<[string, () => Promise<LightMyRequestResponse>]> = [
          ['anonymous', () => register(app, { campaign: slug, email: member.email })],
          [
            'a stranger’s guest session',
            () => register(app, { campaign: slug, email: member.email }, bearer(stranger)),
          ],
          [
            'another person’s token',
            () => register(app, { campaign: slug, email: member.email }, bearer(other.token)),
          ],
          ['an admin key', () => register(app, { campaign: slug, email: member.email }, adminHeaders)],
          [
            'a wrong password',
            () => register(app, { campaign: slug, email: member.email, password: 'wrong horse 42' }),
          ],
          [
            'the action, another person',
            () => sendAction(app, slug, other.token, 'user.register', { email: member.email, name: 'X' }),
          ],
          [
            'the action, an admin key',
            () =>
              app.inject({
                method: 'POST',
                url: `/api/${slug}/update`,
                headers: adminHeaders,
                payload: { action: 'user.register', data: { email: member.email, name: 'X' } },
              }),
          ],
        ]
        for (const [who, attempt] of attempts) {
          const res = await attempt()
          assertError(res, 409, 'EMAIL_TAKEN', who)
          for (const secret of [member.id, member.code, member.email, member.token]) {
            assert.ok(!res.body.includes(secret), `${who}: the answer names ${secret}`)
          }
        }
      }
      // Setting a password on the passwordless account, even from its own browser or token, is refused too.
      assertError(
        await register(app, { campaign: slug, email: quiet.email, password: PASSWORD }, bearer(quiet.guest)),
        409,
        'EMAIL_TAKEN',
        'own guest + password',
      )
      assertError(
        await register(app, { campaign: slug, email: quiet.email, password: PASSWORD }, bearer(quiet.token)),
        409,
        'EMAIL_TAKEN',
        'own token + password',
      )
      // …and the account still has none: nobody can log in to it.
      assertError(
        await login(app, { email: quiet.email, password: PASSWORD }),
        401,
        'INVALID_CREDENTIALS',
        'login',
      )
      // The person themself repeats their join and gets the same person and code back.
      const again = await register(
        app,
        { campaign: slug, email: quiet.email.toUpperCase() },
        bearer(quiet.guest),
      )
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(json(again).user.id, quiet.id)
      assert.equal(json(again).user.referral_code, quiet.code)
    })
  })

  describe(`login QA 2 (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('answers an unknown address, a wrong password, a passwordless account and an erased one alike', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const withPassword = await join(app, slug, { password: PASSWORD })
      const without = await join(app, slug)
      const erased = await join(app, slug, { password: PASSWORD })
      const del = await app.inject({
        method: 'DELETE',
        url: `/api/user/${erased.id}`,
        headers: bearer(erased.token),
      })
      assert.equal(del.statusCode, 200, del.body)
      const answers = [
        await login(app, { email: `nobody_${tag()}@example.com`, password: PASSWORD }),
        await login(app, { email: withPassword.email, password: 'wrong horse 42' }),
        await login(app, { email: without.email, password: PASSWORD }),
        await login(app, { email: erased.email, password: PASSWORD }),
      ]
      for (const res of answers) assertError(res, 401, 'INVALID_CREDENTIALS', res.body)
      const shape = (res: LightMyRequestResponse) => {
        const { request_id: _, ...rest } = json(res)
        return rest
      }
      for (const res of answers) assert.deepEqual(shape(res), shape(answers[0]!))
    })

    it('limits guesses at an unknown address as at a known one: 429 with Retry-After', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const known = await join(app, slug, { password: PASSWORD })
      for (const email of [known.email, `nobody_${tag()}@example.com`]) {
        const network = `192.0.2.${Math.floor(Math.random() * 250) + 1}`
        const answers: number[] = []
        let last: LightMyRequestResponse | undefined
        for (let i = 0; i < 6; i++) {
          last = await login(app, { email, password: `wrong horse ${i}` }, network)
          answers.push(last.statusCode)
        }
        assert.deepEqual(answers, [401, 401, 401, 401, 401, 429], email)
        assertError(last!, 429, 'RATE_LIMITED', email)
        assert.ok(Number(last!.headers['retry-after']) > 0, `Retry-After: ${last!.headers['retry-after']}`)
        // The right password from that network waits too: a guesser must not learn it is right.
        if (email === known.email) {
          assertError(
            await login(app, { email, password: PASSWORD }, network),
            429,
            'RATE_LIMITED',
            'right password',
          )
        }
      }
    })

    it('logs a person into a campaign they never joined without making them a member of it', async () => {
      const { app } = suite
      const joinedSlug = await createCampaign(app)
      const otherSlug = await createCampaign(app)
      const member = await join(app, joinedSlug, { password: PASSWORD })
      const res = await login(app, { email: member.email, password: PASSWORD, campaign: otherSlug })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).user.id, member.id)
      assert.equal(json(res).user.campaign, null)
      assert.equal(json(res).user.referral_code, null)
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(json(res).token) })
      assert.deepEqual(
        json(me).user.campaigns.map((c: { campaign: string }) => c.campaign),
        [joinedSlug],
      )
      assertError(
        await login(app, { email: member.email, password: PASSWORD, campaign: `nope_${tag()}` }),
        404,
        'CAMPAIGN_NOT_FOUND',
        'unknown campaign',
      )
    })

    it('answers a corrupt stored password hash as a wrong password, never a 500', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const member = await join(app, slug, { password: PASSWORD })
      // scrypt refuses N=3 (not a power of two): a hash no release of ours wrote, restored from elsewhere.
      const salt = randomBytes(16).toString('base64')
      const hash = randomBytes(32).toString('base64')
      await app.platform.database.db
        .updateTable('service_user_master')
        .set({ password_hash: `scrypt$3$8$1$${salt}$${hash}` })
        .where('id', '=', member.id)
        .execute()
      assertError(
        await login(app, { email: member.email, password: PASSWORD }),
        401,
        'INVALID_CREDENTIALS',
        'login',
      )
      assertError(
        await register(app, { campaign: slug, email: member.email, password: PASSWORD }),
        409,
        'EMAIL_TAKEN',
        'join with the password',
      )
    })
  })

  describe(`erasure QA 2 (${dialect})`, () => {
    const suite = suiteApp({ dialect })
    const sockets: TestClient[] = []
    after(() => {
      for (const s of sockets) s.close()
    })

    it('lets only the person or an admin erase: a guest, another person and an editor key get 403', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const target = await join(app, slug)
      const other = await join(app, slug)
      const { token: guest } = await guestToken(app)
      const editor = await app.platform.apiKeys.create({ name: `editor_${tag()}`, role: 'editor' })
      const erase = (id: string, headers: Record<string, string>) =>
        app.inject({ method: 'DELETE', url: `/api/user/${encodeURIComponent(id)}`, headers })
      for (const [who, headers] of [
        ['a guest', bearer(guest)],
        ['the person’s own guest session', bearer(target.guest)],
        ['another person', bearer(other.token)],
        ['an editor key', { 'x-api-key': editor.key }],
      ] as const) {
        const res = await erase(target.id, headers)
        assertError(res, 403, 'FORBIDDEN', who)
        // An id that exists and one that does not are refused alike: no way to probe for people.
        assertError(await erase(`usr_${tag()}`, headers), 403, 'FORBIDDEN', `${who}, unknown id`)
      }
      assertError(await erase('guest', bearer(guest)), 403, 'FORBIDDEN', 'a guest naming "guest"')
      assertError(await erase(target.id, {}), 401, 'UNAUTHORIZED', 'no credential')
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(target.token) })
      assert.equal(me.statusCode, 200, 'still there')
      assert.equal(json(me).user.email, target.email)
    })

    it('answers forged ids with a clear 4xx: SQL-ish, non-ULID, unicode, too long, NUL', async () => {
      const { app } = suite
      const erase = (raw: string) =>
        app.inject({ method: 'DELETE', url: `/api/user/${raw}`, headers: adminHeaders })
      for (const id of [
        "' OR '1'='1",
        'usr_1; DROP TABLE service_user_master; --',
        '../../etc/passwd',
        '%',
        'ü'.repeat(64),
      ]) {
        assertError(await erase(encodeURIComponent(id)), 404, 'USER_NOT_FOUND', id)
      }
      assertError(await erase('x'.repeat(65)), 400, 'VALIDATION_FAILED', '65 characters')
      assertError(await erase('usr_%00'), 400, 'INVALID_CHARACTER', 'NUL')
      const count = await app.platform.database.db
        .selectFrom('service_user_master')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      assert.ok(Number(count.n) >= 0, 'the table is still there')
    })

    it('refuses the erased person’s tokens on REST and sockets; a second erasure answers as the first', async () => {
      const { app } = suite
      await listenLocally(app)
      const slug = await createCampaign(app)
      const person = await join(app, slug)
      const bystander = await join(app, slug)
      const open = async (path: string, token: string) => {
        const socket = await connect(`${baseUrl(app)}${path}?token=${token}`)
        sockets.push(socket)
        return socket
      }
      const own = await open(`/ws/${slug}/${person.id}`, person.token)
      const ownGuest = await open(`/ws/${slug}/guest`, person.guest)
      const theirs = await open(`/ws/${slug}/${bystander.id}`, bystander.token)

      const first = await app.inject({
        method: 'DELETE',
        url: `/api/user/${person.id}`,
        headers: bearer(person.token),
      })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(json(first).status, 'erased')

      for (const socket of [own, ownGuest]) {
        assert.deepEqual(await socket.untilClosed(), { code: 1008, reason: 'TOKEN_REVOKED' })
        assert.equal(socket.frames.at(-1).code, 'TOKEN_REVOKED')
      }
      for (const [path, token] of [
        [`/ws/${slug}/${person.id}`, person.token],
        [`/ws/${slug}/guest`, person.guest],
      ] as const) {
        await assert.rejects(connect(`${baseUrl(app)}${path}?token=${token}`), (err: any) => {
          assert.equal(err.status, 401)
          assert.equal(JSON.parse(err.body).error.code, 'TOKEN_REVOKED')
          return true
        })
      }
      for (const token of [person.token, person.guest]) {
        assertError(
          await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) }),
          401,
          'TOKEN_REVOKED',
          'me',
        )
        assertError(await sendAction(app, slug, token, 'content.create', {}), 401, 'TOKEN_REVOKED', 'action')
        assertError(
          await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) }),
          401,
          'TOKEN_REVOKED',
          'logout',
        )
      }
      assertError(
        await app.inject({ method: 'DELETE', url: `/api/user/${person.id}`, headers: bearer(person.token) }),
        401,
        'TOKEN_REVOKED',
        'the person again',
      )
      const second = await app.inject({
        method: 'DELETE',
        url: `/api/user/${person.id}`,
        headers: adminHeaders,
      })
      assert.equal(second.statusCode, 200, second.body)
      assert.deepEqual(json(second), json(first))

      // The email is free again: joining with it makes a new person, not the erased one back.
      const rejoin = await register(app, { campaign: slug, email: person.email }, bearer(person.token))
      assert.equal(rejoin.statusCode, 201, rejoin.body)
      assert.notEqual(json(rejoin).user.id, person.id)

      assert.equal(theirs.closed, undefined, 'the bystander’s socket stays open')
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(bystander.token) })
      assert.equal(me.statusCode, 200)
    })
  })
}
