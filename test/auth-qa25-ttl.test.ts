import assert from 'node:assert/strict'
import { after, before, describe, it, mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { createTokenService } from '../src/platform/auth/tokens.js'
import { isSessionRevoked, purgeRevokedSessions } from '../src/modules/user/user.repo.js'
import { revocationRetentionSeconds } from '../src/modules/user/user.service.js'
import { buildTestApp, DIALECTS, json, JWT_SECRET, type TestContext } from './helper.js'

/**
 * SESSION_TTL_SECONDS lowered (after an incident, say): revocations are kept only for the new
 * lifetime, so a token signed under the longer one before must not outlive it, or a session
 * logged out back then works again once the purge forgot its revocation.
 */

const TTL = 3600
const OLD_TTL = 30 * 86400
const HOUR = 3_600_000

for (const dialect of DIALECTS) {
  describe(`tokens under a lowered SESSION_TTL_SECONDS (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { SESSION_TTL_SECONDS: String(TTL) } })
      app = ctx.app
    })
    after(() => ctx.close())

    /** A token of the node as it ran before, with a 30-day lifetime, issued `agoMs` ago. */
    async function issuedBefore(agoMs: number, kind: 'guest' | 'user') {
      const before = createTokenService({ secret: JWT_SECRET, ttlSeconds: OLD_TTL })
      mock.timers.enable({ apis: ['Date'], now: Date.now() - agoMs })
      try {
        return kind === 'guest'
          ? await before.issueGuest()
          : await before.issueUser({ userId: `usr_ttl_${agoMs}`, roles: ['participant'] })
      } finally {
        mock.timers.reset()
      }
    }

    const me = (token: string) =>
      app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })

    it('refuses a logged-out token once the purge under the new lifetime forgot its revocation', async () => {
      for (const kind of ['guest', 'user'] as const) {
        const { token, principal } = await issuedBefore(2 * HOUR, kind)
        // Logged out a minute after it was issued, while the lifetime was 30 days.
        await app.platform.database.db
          .insertInto('service_user_revoked_session')
          .values({ session_id: principal.session_id, reason: 'logout' })
          .execute()
        await sql`update service_user_revoked_session
                  set revoked_at = now() - make_interval(secs => ${2 * 3600 - 60}::double precision)
                  where session_id = ${principal.session_id}`.execute(app.platform.database.db)
        assert.ok(2 * 3600 - 60 > revocationRetentionSeconds(TTL))
        // What the periodic purge runs (app.ts) under the new lifetime: the revocation is forgotten.
        await purgeRevokedSessions(app.platform.database.db, revocationRetentionSeconds(TTL))
        assert.equal(await isSessionRevoked(app.platform.database.db, principal.session_id), false)

        const res = await me(token)
        assert.equal(res.statusCode, 401, `${kind}: ${res.body}`)
        assert.equal(json(res).error.code, 'TOKEN_EXPIRED', kind)
      }
    })

    it('keeps a token of the longer lifetime until its issue plus the new one, and says so', async () => {
      const { token, principal } = await issuedBefore(HOUR / 2, 'guest')
      const res = await me(token)
      assert.equal(res.statusCode, 200, res.body)
      const expected = (Math.floor((Date.now() - HOUR / 2) / 1000) + TTL) * 1000
      const expiresAt = Date.parse(json(res).expires_at)
      assert.ok(expiresAt < principal.exp! * 1000, 'sooner than the token’s own exp')
      assert.ok(Math.abs(expiresAt - expected) <= 2000, `${json(res).expires_at}`)
    })

    it('leaves a token issued under the current lifetime as it was', async () => {
      const res = await app.inject({ method: 'POST', url: '/api/session' })
      const issued = json(res)
      const check = await me(issued.token)
      assert.equal(check.statusCode, 200, check.body)
      assert.equal(json(check).expires_at, issued.expires_at)
    })
  })
}
