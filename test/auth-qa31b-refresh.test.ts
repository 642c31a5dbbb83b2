import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { createUserService } from '../src/modules/user/user.service.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import type { RealtimePublisher } from '../src/realtime/publish.js'
import {
  ADMIN_KEY,
  adminHeaders,
  createCampaign,
  DIALECTS,
  guestToken,
  JWT_SECRET,
  json,
  onTwoPostgresNodes,
  suiteApp,
} from './helper.js'
import { PASSWORD, personWithRole } from './people-fixtures.js'

/**
 * QA 31b: `POST /api/auth/refresh` renews a person's token before it expires: the same session, a
 * fresh expiry, the role the person holds now (read from their account). A token expired, malformed,
 * logged out, cut off or of an erased person is refused with the codes every route uses; a guest
 * session or an API key is 403 `USER_TOKEN_REQUIRED`.
 */

let networks = 0
/** A client network of its own per request, so no request spends another's rate budget. */
const network = () => `10.131.${(++networks >> 8) % 256}.${networks % 256}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function refresh(app: FastifyInstance, headers: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/refresh',
    headers: { 'x-forwarded-for': network(), ...headers },
  })
}

async function login(app: FastifyInstance, email: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': network() },
    payload: { email, password: PASSWORD },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).token as string
}

async function me(app: FastifyInstance, token: string) {
  const res = await app.inject({ url: '/api/auth/me', headers: bearer(token) })
  assert.equal(res.statusCode, 200, res.body)
  return json(res)
}

function setRole(app: FastifyInstance, id: string, role: string) {
  return app.inject({ method: 'PUT', url: `/api/user/${id}/role`, headers: adminHeaders, payload: { role } })
}

function assertRefused(res: { statusCode: number; body: string }, status: number, code: string) {
  assert.equal(res.statusCode, status, res.body)
  assert.equal(json(res as never).error.code, code, res.body)
  assert.ok(!('token' in json(res as never)), 'no token in a refusal')
}

for (const dialect of DIALECTS) {
  describe(`POST /api/auth/refresh (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('answers a new token of the same session, with a fresh expiry, in login’s shape', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      // A token near its end: two minutes left.
      const short = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId: (await me(app, ada.token)).session_id,
        roles: ['participant'],
        ttlSeconds: 120,
        validAfter: null,
      })
      const res = await refresh(app, bearer(short.token))
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'session_id', 'token', 'user'])
      assert.equal(body.user.id, ada.id)
      assert.equal(body.user.email, ada.email)
      assert.equal(body.user.display_name, 'Ada')
      assert.equal(body.session_id, short.principal.session_id)
      assert.notEqual(body.token, short.token)
      const oldExpiry = short.principal.exp! * 1000
      assert.ok(Date.parse(body.expires_at) > oldExpiry + 3600_000, `${body.expires_at} is a fresh expiry`)

      const fresh = await me(app, body.token)
      assert.equal(fresh.kind, 'user')
      assert.equal(fresh.user_id, ada.id)
      assert.equal(fresh.session_id, short.principal.session_id)
      assert.deepEqual(fresh.roles, ['participant'])
      assert.equal(fresh.expires_at, body.expires_at)
      // The new token acts as the person does.
      const action = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(body.token),
        payload: { action: 'content.view', data: { page: 'home' } },
      })
      assert.equal(action.statusCode, 200, action.body)
      // The old token works until its own expiry.
      assert.equal((await me(app, short.token)).user_id, ada.id)
      // A refreshed token refreshes again.
      const again = await refresh(app, bearer(body.token))
      assert.equal(again.statusCode, 200, again.body)
    })

    it('carries the role the person holds now, raised or lowered, never the old token’s', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const eve = await personWithRole(app, slug, 'participant', { name: 'Eve' })
      const raised = await setRole(app, eve.id, 'editor')
      assert.equal(raised.statusCode, 200, raised.body)
      const asEditor = await refresh(app, bearer(eve.token))
      assert.equal(asEditor.statusCode, 200, asEditor.body)
      assert.deepEqual((await me(app, json(asEditor).token)).roles, ['editor'])
      assert.deepEqual((await me(app, eve.token)).roles, ['participant'], 'the old token keeps its role')
      const audit = await app.inject({
        url: `/api/campaign/${slug}/audit`,
        headers: bearer(json(asEditor).token),
      })
      assert.equal(audit.statusCode, 200, audit.body)

      // An operator lowers the role in the database itself (no cut-off): the refreshed token
      // carries the lowered role, and the editor route refuses it.
      const adminToken = await (async () => {
        assert.equal((await setRole(app, eve.id, 'admin')).statusCode, 200)
        return login(app, eve.email)
      })()
      assert.deepEqual((await me(app, adminToken)).roles, ['admin'])
      await app.platform.database.db
        .updateTable('service_user_master')
        .set({ role: 'participant' })
        .where('id', '=', eve.id)
        .execute()
      const lowered = await refresh(app, bearer(adminToken))
      assert.equal(lowered.statusCode, 200, lowered.body)
      assert.deepEqual((await me(app, json(lowered).token)).roles, ['participant'])
      const refused = await app.inject({
        url: `/api/campaign/${slug}/audit`,
        headers: bearer(json(lowered).token),
      })
      assert.equal(refused.statusCode, 403, refused.body)

      // Lowered through the API, the role cuts off the person's tokens: none of them refreshes.
      assert.equal((await setRole(app, eve.id, 'admin')).statusCode, 200)
      const admin = await login(app, eve.email)
      const demoted = await setRole(app, eve.id, 'participant')
      assert.equal(demoted.statusCode, 200, demoted.body)
      assertRefused(await refresh(app, bearer(admin)), 401, 'TOKEN_REVOKED')
    })

    it('refuses a logged-out token, one cut off by logging out everywhere, and an erased person’s', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const refreshed = json(await refresh(app, bearer(ada.token))).token as string
      const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(ada.token) })
      assert.equal(out.statusCode, 200, out.body)
      assertRefused(await refresh(app, bearer(ada.token)), 401, 'TOKEN_REVOKED')
      // One session: the token refreshed from it ends with it.
      assertRefused(await refresh(app, bearer(refreshed)), 401, 'TOKEN_REVOKED')

      const bo = await personWithRole(app, slug, 'participant', { name: 'Bo' })
      const elsewhere = await login(app, bo.email)
      const all = await app.inject({ method: 'POST', url: '/api/auth/logout/all', headers: bearer(bo.token) })
      assert.equal(all.statusCode, 200, all.body)
      assertRefused(await refresh(app, bearer(elsewhere)), 401, 'TOKEN_REVOKED')

      const cy = await personWithRole(app, slug, 'participant', { name: 'Cy' })
      const erased = await app.inject({ method: 'DELETE', url: `/api/user/${cy.id}`, headers: adminHeaders })
      assert.equal(erased.statusCode, 200, erased.body)
      assertRefused(await refresh(app, bearer(cy.token)), 401, 'TOKEN_REVOKED')
    })

    it('refuses an expired, malformed, badly signed or missing token with the usual codes', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const expired = await app.platform.tokens.issueUser({
        userId: ada.id,
        roles: ['participant'],
        ttlSeconds: -60,
      })
      assertRefused(await refresh(app, bearer(expired.token)), 401, 'TOKEN_EXPIRED')
      assertRefused(await refresh(app, bearer('not.a.token')), 401, 'INVALID_TOKEN')
      // Our secret, another algorithm: the algorithm is pinned.
      const now = Math.floor(Date.now() / 1000)
      const hs512 = await new SignJWT({ user_id: ada.id, sid: 'sess_x', roles: ['admin'], kind: 'user' })
        .setProtectedHeader({ alg: 'HS512' })
        .setIssuer('ovasabi')
        .setSubject(ada.id)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(JWT_SECRET))
      assertRefused(await refresh(app, bearer(hs512)), 401, 'INVALID_TOKEN')
      assertRefused(await refresh(app, {}), 401, 'UNAUTHORIZED')
    })

    it('refuses a guest session token and an API key: 403 USER_TOKEN_REQUIRED', async () => {
      const { app } = suite
      const guest = await guestToken(app)
      assertRefused(await refresh(app, bearer(guest.token)), 403, 'USER_TOKEN_REQUIRED')
      assertRefused(await refresh(app, { 'x-api-key': ADMIN_KEY }), 403, 'USER_TOKEN_REQUIRED')
    })

    it('is limited per person: 30 refreshes a quarter hour, then 429 with Retry-After', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      for (let i = 0; i < 30; i++) {
        const res = await refresh(app, bearer(ada.token))
        assert.equal(res.statusCode, 200, `refresh ${i + 1}: ${res.body}`)
      }
      const limited = await refresh(app, bearer(ada.token))
      assertRefused(limited, 429, 'RATE_LIMITED')
      assert.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After')
      // Another person is not held by Ada's budget.
      const bo = await personWithRole(app, slug, 'participant', { name: 'Bo' })
      assert.equal((await refresh(app, bearer(bo.token))).statusCode, 200)
    })

    it('is limited per client network, whoever refreshes', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const users = createUserService({
        db: app.platform.database.db,
        tokens: app.platform.tokens,
        publisher: { publish: async () => {} } as unknown as RealtimePublisher,
        limiter: createRateLimiter(),
        refreshLimits: { perPerson: 100, perNetwork: 3, windowMs: 60_000 },
      })
      const people = [
        await personWithRole(app, slug, 'participant', { name: 'Ann' }),
        await personWithRole(app, slug, 'participant', { name: 'Bo' }),
      ]
      const principals = await Promise.all(people.map((p) => app.platform.tokens.verify(p.token)))
      for (let i = 0; i < 3; i++) {
        const done = await users.refresh(principals[i % 2]!, { ip: '2001:db8:1:2::7' })
        assert.equal(done.user.id, people[i % 2]!.id)
      }
      // Another address of the same IPv6 /64 is the same network.
      await assert.rejects(users.refresh(principals[1]!, { ip: '2001:db8:1:2::99' }), (err: Error) => {
        assert.equal((err as Error & { code: string }).code, 'RATE_LIMITED')
        return true
      })
      const other = await users.refresh(principals[1]!, { ip: '203.0.113.5' })
      assert.equal(other.user.id, people[1]!.id)
    })

    it('is in the OpenAPI document, bearer only, answering login’s shape', async () => {
      const { app } = suite
      const doc = json(await app.inject({ url: '/docs/openapi.json' }))
      const op = doc.paths['/api/auth/refresh']?.post
      assert.ok(op, 'documented')
      assert.equal(op.operationId, 'refreshToken')
      assert.deepEqual(op.security, [{ bearerAuth: [] }])
      const login = doc.paths['/api/auth/login'].post
      assert.deepEqual(
        op.responses['200'].content['application/json'].schema,
        login.responses['200'].content['application/json'].schema,
      )
      for (const status of ['401', '403', '429']) assert.ok(op.responses[status], status)
    })
  })
}

describe('POST /api/auth/refresh on two nodes (postgres)', { skip: !process.env.DATABASE_URL }, () => {
  it('reads the revocation afresh: a logout or cut-off on one node is never refreshed on another', async () => {
    await onTwoPostgresNodes(async (first, second) => {
      const slug = await createCampaign(first.app)
      const ada = await personWithRole(first.app, slug, 'participant')
      const bo = await personWithRole(first.app, slug, 'participant', { name: 'Bo' })
      // The second node checks both tokens: its cache trusts "not revoked" for 10 s, and the
      // nodes share no bus here, so it is never told of what the first does.
      assert.equal((await me(second.app, ada.token)).user_id, ada.id)
      assert.equal((await me(second.app, bo.token)).user_id, bo.id)
      const out = await first.app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: bearer(ada.token),
      })
      assert.equal(out.statusCode, 200, out.body)
      assertRefused(await refresh(second.app, bearer(ada.token)), 401, 'TOKEN_REVOKED')
      const all = await first.app.inject({
        method: 'POST',
        url: '/api/auth/logout/all',
        headers: bearer(await login(first.app, bo.email)),
      })
      assert.equal(all.statusCode, 200, all.body)
      assertRefused(await refresh(second.app, bearer(bo.token)), 401, 'TOKEN_REVOKED')
    })
  })
})
