import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { decodeJwt, SignJWT } from 'jose'
import { createClient } from '../client/index.js'
import { OvasabiError } from '../client/errors.js'
import { loadConfig } from '../src/config.js'
import { createCampaign, DIALECTS, JWT_SECRET, json, listenLocally, suiteApp } from './helper.js'
import { ip, personWithRole } from './people-fixtures.js'

/**
 * A maximum session age (as OIDC's `max_age`, Auth0's and Supabase's absolute session lifetime):
 * every person token carries `auth_time` (the join or login), a refresh keeps it, and once it is
 * older than SESSION_MAX_AGE_SECONDS a refresh is 401 `SESSION_EXPIRED`; no refreshed token
 * expires past `auth_time + SESSION_MAX_AGE_SECONDS`. A token from before `auth_time` counts from
 * its `iat`. Ages are set by signing tokens with an old `auth_time`/`iat`, never by waiting.
 */

/** An hour: far below the token lifetime (a day), so the cap is what decides each `exp` here. */
const MAX_AGE = 3600
const now = () => Math.floor(Date.now() / 1000)
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': ip() })

function refresh(app: FastifyInstance, token: string) {
  return app.inject({ method: 'POST', url: '/api/auth/refresh', headers: bearer(token) })
}

function assertSessionExpired(res: { statusCode: number; body: string }) {
  assert.equal(res.statusCode, 401, res.body)
  assert.equal(JSON.parse(res.body).error.code, 'SESSION_EXPIRED', res.body)
  assert.ok(!('token' in JSON.parse(res.body)), 'no token in a refusal')
}

/** A token of the person as this API signed them before `auth_time` existed: no such claim. */
async function legacyToken(person: { id: string }, sessionId: string, iat: number) {
  return new SignJWT({ user_id: person.id, sid: sessionId, roles: ['participant'], kind: 'user' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('ovasabi')
    .setSubject(person.id)
    .setJti(`legacy_${iat}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(new TextEncoder().encode(JWT_SECRET))
}

async function sessionOf(app: FastifyInstance, token: string): Promise<string> {
  const me = await app.inject({ url: '/api/auth/me', headers: bearer(token) })
  assert.equal(me.statusCode, 200, me.body)
  return json(me).session_id
}

describe('SESSION_MAX_AGE_SECONDS', () => {
  it('defaults to 30 days and is bounded as SESSION_TTL_SECONDS is', () => {
    assert.equal(loadConfig({ DATA_DIR: '/nonexistent' }).SESSION_MAX_AGE_SECONDS, 30 * 86_400)
    assert.equal(
      loadConfig({ DATA_DIR: '/nonexistent', SESSION_MAX_AGE_SECONDS: '7200' }).SESSION_MAX_AGE_SECONDS,
      7200,
    )
    assert.throws(() => loadConfig({ DATA_DIR: '/nonexistent', SESSION_MAX_AGE_SECONDS: '59' }))
  })
})

for (const dialect of DIALECTS) {
  describe(`a session's maximum age on refresh (${dialect})`, () => {
    const suite = suiteApp({ dialect, env: { SESSION_MAX_AGE_SECONDS: String(MAX_AGE) } })

    it('a login stamps auth_time; refreshes keep it and never expire past auth_time + the max age', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'editor')
      const authTime = decodeJwt(ada.token).auth_time as number
      assert.equal(typeof authTime, 'number')
      assert.ok(authTime <= (decodeJwt(ada.token).iat as number))
      // The login's own token ends with its session too.
      assert.equal(decodeJwt(ada.token).exp, authTime + MAX_AGE)
      let token = ada.token
      for (let i = 0; i < 3; i++) {
        const res = await refresh(app, token)
        assert.equal(res.statusCode, 200, res.body)
        token = json(res).token
        const claims = decodeJwt(token)
        assert.equal(claims.auth_time, authTime, 'a refresh never moves auth_time forward')
        assert.equal(claims.exp, authTime + MAX_AGE, 'capped at the session’s end, not a day from now')
        assert.equal(json(res).expires_at, new Date((authTime + MAX_AGE) * 1000).toISOString())
        const me = await app.inject({ url: '/api/auth/me', headers: bearer(token) })
        assert.deepEqual(json(me).roles, ['editor'])
      }
    })

    it('refuses a refresh past the max age with 401 SESSION_EXPIRED; a login starts a new session', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const sessionId = await sessionOf(app, ada.token)
      // Signed now (its `iat` is fresh, so it is far from its own expiry), authenticated long ago.
      const old = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId,
        roles: ['participant'],
        validAfter: null,
        authTime: now() - MAX_AGE - 60,
      })
      assert.equal(await sessionOf(app, old.token), sessionId, 'the token itself still works')
      assertSessionExpired(await refresh(app, old.token))
      // Just within the age it is refreshed, to what is left of it.
      const recent = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId,
        roles: ['participant'],
        validAfter: null,
        authTime: now() - MAX_AGE + 600,
      })
      const renewed = await refresh(app, recent.token)
      assert.equal(renewed.statusCode, 200, renewed.body)
      assert.equal(decodeJwt(json(renewed).token).exp, recent.principal.auth_time! + MAX_AGE)
      // Logging in again is the way on: a new auth_time, refreshed again.
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': ip() },
        payload: { email: ada.email, password: ada.password },
      })
      assert.equal(login.statusCode, 200, login.body)
      assert.ok((decodeJwt(json(login).token).auth_time as number) > now() - 600)
      assert.equal((await refresh(app, json(login).token)).statusCode, 200)
    })

    it('counts a token without auth_time (issued before it existed) from its iat, never as unlimited', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const sessionId = await sessionOf(app, ada.token)
      const tooOld = await legacyToken(ada, sessionId, now() - MAX_AGE - 60)
      assert.equal(await sessionOf(app, tooOld), sessionId, 'within its lifetime it still works')
      assertSessionExpired(await refresh(app, tooOld))

      const iat = now() - 600
      const legacy = await legacyToken(ada, sessionId, iat)
      const res = await refresh(app, legacy)
      assert.equal(res.statusCode, 200, res.body)
      const claims = decodeJwt(json(res).token)
      assert.equal(claims.auth_time, iat, 'its iat became the session’s auth_time')
      assert.equal(claims.exp, iat + MAX_AGE)
    })

    it('a repeat join with the person’s own token keeps its auth_time, and past the max age is refused', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const sessionId = await sessionOf(app, ada.token)
      const other = await createCampaign(app)
      const join = (token: string, campaign = slug) =>
        app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: bearer(token),
          payload: { campaign, name: 'Ada', email: ada.email },
        })
      const authTime = now() - 600
      const own = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId,
        roles: ['participant'],
        validAfter: null,
        authTime,
      })
      const again = await join(own.token)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(decodeJwt(json(again).token).auth_time, authTime, 'no new authentication')
      assert.equal(decodeJwt(json(again).token).exp, authTime + MAX_AGE)
      // Joining another campaign so is no new authentication either.
      const elsewhere = await join(own.token, other)
      assert.equal(elsewhere.statusCode, 201, elsewhere.body)
      assert.equal(decodeJwt(json(elsewhere).token).auth_time, authTime)
      const old = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId,
        roles: ['participant'],
        validAfter: null,
        authTime: now() - MAX_AGE - 60,
      })
      assertSessionExpired(await join(old.token))
      assertSessionExpired(await join(old.token, await createCampaign(app)))
    })

    it('over a real port, the SDK rejects the refresh with an OvasabiError SESSION_EXPIRED', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const ada = await personWithRole(app, slug, 'participant')
      const old = await app.platform.tokens.issueUser({
        userId: ada.id,
        sessionId: await sessionOf(app, ada.token),
        roles: ['participant'],
        validAfter: null,
        authTime: now() - MAX_AGE - 60,
      })
      const baseUrl = await listenLocally(app)
      const client = createClient({ baseUrl, token: old.token })
      await assert.rejects(client.users.refresh(), (err: unknown) => {
        assert.ok(err instanceof OvasabiError, String(err))
        assert.equal(err.code, 'SESSION_EXPIRED')
        assert.equal(err.status, 401)
        return true
      })
      const fresh = createClient({ baseUrl, token: ada.token })
      const renewed = await fresh.users.refresh()
      assert.equal(decodeJwt(renewed.token).auth_time, decodeJwt(ada.token).auth_time)
    })
  })
}
