import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { bearer, ip } from './people-fixtures.js'
import { createCampaign, DIALECTS, json, joinWithPassword, suiteApp, userToken } from './helper.js'
import { onClock } from './clock-fixtures.js'

/**
 * "Log out everywhere" on a deployment whose nodes' clocks differ by a minute or two (as NTP-less
 * containers do). The cut-off was the logging-out node's wall clock and tokens were judged by the
 * issuing node's: a token issued just before the logout by a node running ahead outlived it, and
 * so did every token issued before a logout made on a node running behind.
 */
const SKEW_MS = 2 * 60_000

async function logIn(app: FastifyInstance, email: string, password: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': ip() },
    payload: { email, password },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).token
}

const me = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })

const logOutEverywhere = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'POST', url: '/api/auth/logout/all', headers: bearer(token) })

function assertRevoked(res: Awaited<ReturnType<typeof me>>, what: string) {
  assert.equal(res.statusCode, 401, `${what}: ${res.body}`)
  assert.equal(json(res).error.code, 'TOKEN_REVOKED', what)
}

for (const dialect of DIALECTS) {
  describe(`log out everywhere across nodes whose clocks differ (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('refuses a token issued just before it by a node whose clock runs ahead', async () => {
      const { app } = suite
      const member = await joinWithPassword(app, await createCampaign(app))
      const ahead = await onClock(SKEW_MS, () => logIn(app, member.email, member.password))
      assert.equal((await me(app, ahead)).statusCode, 200)

      const out = await logOutEverywhere(app, member.token)
      assert.equal(out.statusCode, 200, out.body)
      assertRevoked(await me(app, ahead), 'the token from the node ahead')
    })

    it('refuses every earlier token when the node logging out runs behind', async () => {
      const { app } = suite
      const member = await joinWithPassword(app, await createCampaign(app))
      const earlier = await logIn(app, member.email, member.password)
      assert.equal((await me(app, earlier)).statusCode, 200)

      const out = await onClock(-SKEW_MS, () => logOutEverywhere(app, member.token))
      assert.equal(out.statusCode, 200, out.body)
      assertRevoked(await me(app, earlier), 'the token issued before the logout')
    })

    it("honours a login made after it, whichever node's clock issues it", async () => {
      const { app } = suite
      const member = await joinWithPassword(app, await createCampaign(app))
      assert.equal((await onClock(SKEW_MS, () => logOutEverywhere(app, member.token))).statusCode, 200)
      const behind = await onClock(-SKEW_MS, () => logIn(app, member.email, member.password))
      const now = await logIn(app, member.email, member.password)
      assert.equal((await me(app, behind)).statusCode, 200, 'a login on a node behind')
      assert.equal((await me(app, now)).statusCode, 200, 'a login on a node on time')

      // A second logout everywhere, from a node behind the first, still ends them both.
      assert.equal((await onClock(-SKEW_MS, () => logOutEverywhere(app, now))).statusCode, 200)
      assertRevoked(await me(app, behind), 'after the second logout, the login on a node behind')
      assertRevoked(await me(app, now), 'after the second logout, the login on time')
    })

    it('keeps judging tokens issued before the change by their issue time', async () => {
      const { app } = suite
      const member = await joinWithPassword(app, await createCampaign(app))
      const userId = json(await me(app, member.token)).user_id as string
      // Tokens signed without the cut-off they were issued under, as every one before this change.
      const before = await userToken(app, userId)
      // Issue times are milliseconds: not the one of the logout.
      await new Promise((resolve) => setTimeout(resolve, 5))
      assert.equal((await logOutEverywhere(app, member.token)).statusCode, 200)
      assertRevoked(await me(app, before), 'an old-style token issued before the logout')
      await new Promise((resolve) => setTimeout(resolve, 5))
      const after = await userToken(app, userId)
      assert.equal((await me(app, after)).statusCode, 200, 'an old-style token issued after the logout')
    })
  })
}
