import assert from 'node:assert/strict'
import { after, before, describe, it, mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { createAuthenticator } from '../src/platform/auth/plugin.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { createRevocations } from '../src/modules/user/revocations.js'
import { createUserService, revocationRetentionSeconds } from '../src/modules/user/user.service.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  joinAndErase,
  type TestContext,
} from './helper.js'

const TTL = 3600

for (const dialect of DIALECTS) {
  describe(`revoked guest sessions (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let slug: string

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { SESSION_TTL_SECONDS: String(TTL) } })
      app = ctx.app
      slug = await createCampaign(app)
    })
    after(() => ctx.close())

    /** What the periodic purge runs (app.ts), on this app's database. */
    function purge() {
      const users = createUserService({
        db: app.platform.database.db,
        tokens: app.platform.tokens,
        publisher: app.publisher,
        limiter: createRateLimiter(),
      })
      return users.purgeRevokedSessions(TTL)
    }

    /** A node that has never seen these sessions: it asks the database. */
    function freshNode() {
      return createAuthenticator({
        tokens: app.platform.tokens,
        apiKeys: app.platform.apiKeys,
        isRevoked: createRevocations(app.platform.database.db).isRevoked,
      })
    }

    async function refusal(token: string): Promise<string | undefined> {
      try {
        await freshNode().resolve(token)
        return undefined
      } catch (err) {
        return (err as { code?: string }).code
      }
    }

    /** Pretend the session was revoked `seconds` ago, by the database's clock. */
    async function revokedAgo(sessionId: string, seconds: number) {
      await sql`update service_user_revoked_session
                set revoked_at = now() - make_interval(secs => ${seconds}::double precision)
                where session_id = ${sessionId}`.execute(app.platform.database.db)
    }

    async function revoked(sessionId: string): Promise<boolean> {
      const row = await app.platform.database.db
        .selectFrom('service_user_revoked_session')
        .select('session_id')
        .where('session_id', '=', sessionId)
        .executeTakeFirst()
      return row !== undefined
    }

    /** A guest session revoked by its visitor's erasure, as a node that never saw it refuses it. */
    async function erasedGuest() {
      const guest = await guestToken(app)
      await joinAndErase(app, slug, guest.token)
      assert.equal(await refusal(guest.token), 'TOKEN_REVOKED')
      return guest
    }

    it('purges revocations older than the token lifetime and keeps the recent ones', async () => {
      const old = await erasedGuest()
      const recent = await erasedGuest()
      await revokedAgo(old.session_id, revocationRetentionSeconds(TTL) + 60)
      await revokedAgo(recent.session_id, TTL - 60)

      assert.equal(await purge(), 1)
      assert.equal(await revoked(old.session_id), false)
      assert.equal(await revoked(recent.session_id), true)
      // Its token still verifies (it could have been issued just before the erasure): refused.
      assert.equal(await refusal(recent.token), 'TOKEN_REVOKED')
      assert.equal(await purge(), 0)
    })

    it('refuses a revoked session’s token until it would have expired anyway', async () => {
      const guest = await erasedGuest()
      const revokedAt = Date.now()
      const exp = (await app.platform.tokens.verify(guest.token)).exp! * 1000
      /** Ask a fresh node at `now` (its clock), then give the clock back. */
      const askAt = async (now: number) => {
        mock.timers.enable({ apis: ['Date'], now })
        try {
          return await refusal(guest.token)
        } finally {
          mock.timers.reset()
        }
      }

      // A minute before the token expires, the revocation is that old: kept, and the token refused.
      const beforeExpiry = exp - 60_000
      await revokedAgo(guest.session_id, Math.floor((beforeExpiry - revokedAt) / 1000))
      await purge()
      assert.equal(await revoked(guest.session_id), true)
      assert.equal(await askAt(beforeExpiry), 'TOKEN_REVOKED')

      // Once the purge may forget it, the token has expired: refused all the same.
      const retention = revocationRetentionSeconds(TTL)
      await revokedAgo(guest.session_id, retention + 1)
      await purge()
      assert.equal(await revoked(guest.session_id), false)
      assert.equal(await askAt(revokedAt + (retention + 1) * 1000), 'TOKEN_EXPIRED')
    })
  })
}
