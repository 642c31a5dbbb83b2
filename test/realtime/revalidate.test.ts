import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import type { Principal } from '../../src/platform/auth/principal.js'
import { CREDENTIALS_REVOKED_CHANNEL } from '../../src/platform/auth/revoked.js'
import { createCampaign, DIALECTS, guestToken, joinAndErase } from '../helper.js'
import { metric, type TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** `ovasabi_ws_credential_rechecks_failed_total` as `/metrics` shows it. */
const rechecksFailed = (app: FastifyInstance, outcome: 'refused' | 'error') =>
  metric(app, 'ovasabi_ws_credential_rechecks_failed_total', `outcome="${outcome}"`)

/** Polls without reading the clock: the test moves `Date` forward while it waits. */
async function until(cond: () => boolean, what: string, tries = 2000) {
  for (let i = 0; !cond(); i++) {
    if (i >= tries) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** A round trip: a socket closed (or being closed) by the server never answers it. */
async function answersPing(c: TestClient): Promise<boolean> {
  const from = c.frames.length
  c.send({ type: 'ping' })
  return c
    .next((f) => f.type === 'pong', 10_000, from)
    .then(
      () => c.closed === undefined,
      () => false,
    )
}

// The gateway re-checks every open socket's credential every 30 s. A check that cannot get an
// answer (here the database refuses the queries: tables renamed away) keeps the socket; a revoked
// credential still closes it (1008).
for (const dialect of DIALECTS) {
  describe(`the 30 s credential re-check over real sockets (${dialect})`, () => {
    // Registered first, so it runs before the suite closes its sockets and app.
    after(() => mock.timers.reset())
    const live = realtimeSuite({ dialect })
    /** The outcome of each re-check, by credential: 'ok' or the error it threw. */
    const checked = new Map<string, unknown>()

    before(() => {
      // The gateway's sweep holds this object: watch what its checks answer, without changing them.
      const auth = live.app.authenticator
      const resolve = auth.resolve.bind(auth)
      auth.resolve = async (credential: string): Promise<Principal> => {
        try {
          const p = await resolve(credential)
          checked.set(credential, 'ok')
          return p
        } catch (err) {
          checked.set(credential, err)
          throw err
        }
      }
    })

    const open = (slug: string, userId: string, token: string) =>
      live.open(`/ws/${slug}/${encodeURIComponent(userId)}?token=${token}`)

    /** Move the clock past the next re-check and wait until it answered for each of `tokens`. */
    async function recheck(skipMs: number, tokens: string[]) {
      for (const t of tokens) checked.delete(t)
      mock.timers.enable({ apis: ['Date'], now: Date.now() + skipMs })
      try {
        await until(() => tokens.every((t) => checked.has(t)), 'the re-check of every socket')
      } finally {
        mock.timers.reset()
      }
    }

    it('keeps API-key and guest sockets through a database outage, and closes a revoked one', async () => {
      const { app } = live
      const { db } = app.platform.database
      const slug = await createCampaign(app)
      const key = await app.platform.apiKeys.create({
        name: `ws_${randomBytes(3).toString('hex')}`,
        role: 'editor',
      })
      const keyUser = (await app.platform.apiKeys.authenticate(key.key))!.user_id
      const apiKeySocket = await open(slug, keyUser, key.key)
      const guest = await guestToken(app)
      const guestSocket = await open(slug, 'guest', guest.token)

      // A visitor joins from their guest session and is erased: that session is revoked.
      const gone = await guestToken(app)
      const goneSocket = await open(slug, 'guest', gone.token)
      // Its bus message is lost (it would close the socket at once): the re-check is the safety net.
      const { bus } = app.platform
      const publish = bus.publish
      bus.publish = async (channel, m) =>
        channel === CREDENTIALS_REVOKED_CHANNEL ? undefined : publish.call(bus, channel, m)
      try {
        await joinAndErase(app, slug, gone.token)
      } finally {
        bus.publish = publish
      }
      // This node learns it (as the node that erased them does at once), before the outage.
      await assert.rejects(app.authenticator.resolve(gone.token), { code: 'TOKEN_REVOKED' })

      const refusedBefore = await rechecksFailed(app, 'refused')
      const errorsBefore = await rechecksFailed(app, 'error')
      // The database stops answering the API-key and revocation lookups.
      await sql`alter table service_security_apikey rename to service_security_apikey_away`.execute(db)
      await sql`alter table service_user_revoked_session rename to service_user_revoked_session_away`.execute(
        db,
      )
      try {
        await recheck(31_000, [key.key, guest.token, gone.token])
      } finally {
        await sql`alter table service_security_apikey_away rename to service_security_apikey`.execute(db)
        await sql`alter table service_user_revoked_session_away rename to service_user_revoked_session`.execute(
          db,
        )
      }
      const failed = [checked.get(key.key), checked.get(guest.token)] as Array<{ code?: string }>
      assert.ok(
        failed.every((e) => e instanceof Error && e.code !== 'INVALID_API_KEY' && e.code !== 'TOKEN_REVOKED'),
        'both checks failed with a database error, not an answer',
      )
      assert.equal(await answersPing(apiKeySocket), true, 'the API-key socket stays open')
      assert.equal(await answersPing(guestSocket), true, 'the guest socket stays open')
      assert.deepEqual(await goneSocket.untilClosed(), { code: 1008, reason: 'TOKEN_REVOKED' })
      assert.ok(goneSocket.frames.some((f) => f.type === 'error' && f.code === 'TOKEN_REVOKED'))
      // Scraped: the two checks that got no answer, and the refusal that closed a socket.
      assert.equal((await rechecksFailed(app, 'error')) - errorsBefore, 2)
      assert.equal((await rechecksFailed(app, 'refused')) - refusedBefore, 1)

      // The database is back and the key has been revoked: the next pass closes that socket.
      assert.equal(await app.platform.apiKeys.revoke(key.id), true)
      await recheck(62_000, [key.key, guest.token])
      assert.deepEqual(await apiKeySocket.untilClosed(), { code: 1008, reason: 'INVALID_API_KEY' })
      assert.equal(await answersPing(guestSocket), true, 'the guest socket still stays open')
      assert.equal((await rechecksFailed(app, 'refused')) - refusedBefore, 2)
      assert.equal((await rechecksFailed(app, 'error')) - errorsBefore, 2, 'the database answered')
    })
  })
}
