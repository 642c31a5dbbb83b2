import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import {
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  JWT_SECRET,
  listenLocally,
  sendAction,
  suiteApp,
} from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

/**
 * Token-level attacks on campaign credentials: anything not signed by this deployment with HS256
 * under its own issuer and an expiry, or signed but with claims of the wrong shape, is a 401 with
 * our error body on every route that takes a token, never a 500 and never a principal.
 */

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const ourKey = new TextEncoder().encode(JWT_SECRET)
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** The claims one of our participant tokens carries, for a made-up person. */
const claims = (extra: Record<string, unknown> = {}) => ({
  user_id: `usr_${randomBytes(6).toString('hex')}`,
  sid: `sess_${randomBytes(6).toString('hex')}`,
  roles: ['participant'],
  kind: 'user',
  ...extra,
})

/** Signs `payload` as our tokens are (HS256, our secret and issuer, an hour to live) unless told otherwise. */
function mint(
  payload: Record<string, unknown>,
  options: { issuer?: string | null; exp?: number | null; key?: Uint8Array } = {},
) {
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  if (options.issuer !== null) jwt.setIssuer(options.issuer ?? 'ovasabi')
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? nowSeconds() + 3600)
  return jwt.sign(options.key ?? ourKey)
}

/** The token is refused with `code` by `GET /api/auth/me` and by the action endpoint alike. */
async function assertRefused(app: FastifyInstance, slug: string, token: string, code: string, what: string) {
  const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })
  assert.equal(me.statusCode, 401, `${what}: ${me.body}`)
  assert.equal(json(me).status, 'error', what)
  assert.equal(json(me).error.code, code, what)
  const action = await sendAction(app, slug, token, 'content.create', {})
  assert.equal(action.statusCode, 401, `${what} (action): ${action.body}`)
  assert.equal(json(action).error.code, code, `${what} (action)`)
}

for (const dialect of DIALECTS) {
  describe(`campaign tokens under attack (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('refuses what this deployment did not sign with HS256: alg none, another secret, HS512, RS256', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const exp = nowSeconds() + 3600
      const body = { ...claims({ roles: ['admin'] }), iss: 'ovasabi', exp }
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const forged: Array<[string, string]> = [
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(body)}.`],
        ['alg none with a signature', `${b64({ alg: 'none' })}.${b64(body)}.${b64('x')}`],
        ['another secret', await mint(body, { key: randomBytes(32) })],
        [
          'HS512 with our secret',
          await new SignJWT(body)
            .setProtectedHeader({ alg: 'HS512' })
            .sign(new TextEncoder().encode(JWT_SECRET)),
        ],
        ['RS256', await new SignJWT(body).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)],
        [
          'our signature on other claims',
          `${b64({ alg: 'HS256' })}.${b64(body)}.${(await mint(claims())).split('.')[2]}`,
        ],
        ['three parts of nothing', 'aaaa.bbbb.cccc'],
      ]
      for (const [what, token] of forged) await assertRefused(app, slug, token, 'INVALID_TOKEN', what)
    })

    it('refuses another issuer, no issuer, and a StreamSource registry token in place of a campaign one', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      await assertRefused(app, slug, await mint(claims(), { issuer: 'evil' }), 'INVALID_TOKEN', 'issuer evil')
      await assertRefused(app, slug, await mint(claims(), { issuer: null }), 'INVALID_TOKEN', 'no issuer')
      await assertRefused(
        app,
        slug,
        await mint(claims(), { issuer: 'ovasabi:streamsource' }),
        'INVALID_TOKEN',
        'the registry issuer with our key',
      )

      const email = `reg_${randomBytes(4).toString('hex')}@example.com`
      const signup = await app.inject({
        method: 'POST',
        url: '/api/v1/signup',
        payload: { user: { email, password: 'Registry pass 42', password_confirmation: 'Registry pass 42' } },
      })
      assert.equal(signup.statusCode, 201, signup.body)
      await assertRefused(app, slug, json(signup).token, 'INVALID_TOKEN', 'a StreamSource token')

      // And the other way round: a campaign person's token is no registry account.
      const { token: guest } = await guestToken(app)
      const joined = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(guest),
        payload: { campaign: slug, email, name: 'Reg' },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const streams = await app.inject({
        method: 'GET',
        url: '/api/v1/streams',
        headers: bearer(json(joined).token),
      })
      assert.equal(streams.statusCode, 401, streams.body)
    })

    it('refuses expired (TOKEN_EXPIRED), not yet valid, issued in the future and expiry-less tokens', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const now = nowSeconds()
      await assertRefused(app, slug, await mint(claims(), { exp: now - 60 }), 'TOKEN_EXPIRED', 'expired')
      await assertRefused(app, slug, await mint(claims(), { exp: null }), 'INVALID_TOKEN', 'no exp')
      await assertRefused(
        app,
        slug,
        await mint({ ...claims(), nbf: now + 600 }),
        'INVALID_TOKEN',
        'nbf ahead',
      )
      await assertRefused(
        app,
        slug,
        await mint({ ...claims(), iat: now + 3600 }),
        'INVALID_TOKEN',
        'iat ahead',
      )
      await assertRefused(
        app,
        slug,
        await mint({ ...claims(), iat_ms: Date.now() + 3_600_000 }),
        'INVALID_TOKEN',
        'iat_ms ahead',
      )
    })

    it('refuses signed tokens whose claims have the wrong shape or no known role, never with a 500', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const now = nowSeconds()
      const bad: Array<[string, Record<string, unknown>, { exp?: number }?]> = [
        ['user_id a number', claims({ user_id: 42 })],
        ['user_id missing', claims({ user_id: undefined })],
        ['sid an object', claims({ sid: { $ne: null } })],
        ['roles a string', claims({ roles: 'admin' })],
        ['roles an object', claims({ roles: { 0: 'admin', length: 1 } })],
        ['roles unknown', claims({ roles: ['root', 'superuser'] })],
        ['roles empty', claims({ roles: [] })],
        ['exp as text', { ...claims(), exp: `${now + 3600}` }],
        // Expiries no RFC 3339 date-time (four-digit years) can write, nor a Date hold.
        ['exp in the year 10000', claims(), { exp: Date.UTC(10_000, 0, 1) / 1000 }],
        ['exp past the last Date', claims(), { exp: 8.64e12 + 1 }],
        ['exp in the year 3 million', claims(), { exp: 1e20 }],
      ]
      for (const [what, payload, options] of bad) {
        const token =
          'exp' in payload ? await mint(payload, { exp: null }) : await mint(payload, { exp: options?.exp })
        await assertRefused(app, slug, token, 'INVALID_TOKEN', what)
      }
    })

    it('answers a token expiring in the last second of the year 9999 with its expiry', async () => {
      const { app } = suite
      const token = await mint(claims(), { exp: Date.UTC(10_000, 0, 1) / 1000 - 1 })
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })
      assert.equal(me.statusCode, 200, me.body)
      assert.equal(json(me).expires_at, '9999-12-31T23:59:59.000Z')
    })

    it('honours only the known roles of a token, and never lets a token claim to be an API key', async () => {
      const { app } = suite
      const token = await mint(claims({ roles: ['participant', 'root'], kind: 'apikey' }))
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })
      assert.equal(me.statusCode, 200, me.body)
      assert.deepEqual(json(me).roles, ['participant'])
      assert.equal(json(me).kind, 'session', 'a signed token is a session or a person, never a key')
      assert.equal(json(me).user, null)
    })

    it('lets a person’s token act in any campaign as itself only, and a guest token as no person', async () => {
      const { app } = suite
      await listenLocally(app)
      const joinedSlug = await createCampaign(app)
      const otherSlug = await createCampaign(app)
      const joinOne = async () => {
        const res = await app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: {
            campaign: joinedSlug,
            email: `x_${randomBytes(4).toString('hex')}@example.com`,
            name: 'X',
          },
        })
        assert.equal(res.statusCode, 201, res.body)
        return json(res) as { user: { id: string }; token: string }
      }
      const ada = await joinOne()
      const bob = await joinOne()
      const { token: guest } = await guestToken(app)

      // Roles are not per campaign (section 3): a participant of one campaign acts in another as themself.
      const elsewhere = await sendAction(app, otherSlug, ada.token, 'content.create', {})
      assert.equal(elsewhere.statusCode, 200, elsewhere.body)
      const socket = await connect(`${baseUrl(app)}/ws/${otherSlug}/${ada.user.id}?token=${ada.token}`)
      assert.equal(socket.frames[0].user_id, ada.user.id)
      socket.close()

      // …but never as someone else, nor a guest as a person.
      const asBob = await app.inject({
        method: 'POST',
        url: `/api/${otherSlug}/update`,
        headers: bearer(ada.token),
        payload: { user_id: bob.user.id, action: 'content.create', data: {} },
      })
      assert.equal(asBob.statusCode, 403, asBob.body)
      assert.equal(json(asBob).error.code, 'USER_MISMATCH')
      for (const [path, token] of [
        [`/ws/${joinedSlug}/${bob.user.id}`, ada.token],
        [`/ws/${joinedSlug}/guest`, ada.token],
        [`/ws/${joinedSlug}/${ada.user.id}`, guest],
      ] as const) {
        await assert.rejects(connect(`${baseUrl(app)}${path}?token=${token}`), (err: any) => {
          assert.equal(err.status, 403, path)
          assert.equal(JSON.parse(err.body).error.code, 'USER_MISMATCH', path)
          return true
        })
      }
      const erase = await app.inject({
        method: 'DELETE',
        url: `/api/user/${ada.user.id}`,
        headers: bearer(guest),
      })
      assert.equal(erase.statusCode, 403, erase.body)
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(guest) })
      assert.equal(json(me).kind, 'session')
      assert.equal(json(me).user_id, 'guest')
      assert.equal(json(me).user, null)
    })

    it('answers a malformed Authorization header or key 401 with our error body', async () => {
      const { app } = suite
      const tries: Array<[Record<string, string>, string]> = [
        [{ authorization: 'Bearer ' }, 'INVALID_TOKEN'],
        [{ authorization: 'Bearer  x.y.z' }, 'INVALID_TOKEN'],
        [{ authorization: 'Token abc' }, 'INVALID_TOKEN'],
        [{ authorization: `Bearer ${'a'.repeat(8000)}` }, 'INVALID_API_KEY'],
        [{ 'x-api-key': "' OR '1'='1" }, 'INVALID_API_KEY'],
      ]
      for (const [headers, code] of tries) {
        const res = await app.inject({ method: 'GET', url: '/api/auth/me', headers })
        assert.equal(res.statusCode, 401, JSON.stringify(headers).slice(0, 80))
        assert.equal(json(res).error.code, code, JSON.stringify(headers).slice(0, 80))
      }
    })
  })
}
