import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { ulid } from 'ulid'
import { adminHeaders, DIALECTS, JWT_SECRET, json, suiteApp } from '../helper.js'
import { account, PASSWORD, type TestAccount } from './helpers.js'
import { onClock } from '../clock-fixtures.js'

/**
 * StreamSource's "log out everywhere" (and an admin's cut-off, and a password change) on a
 * deployment whose nodes' clocks differ by a minute or two. The cut-off was the cutting node's wall
 * clock and tokens were judged by the issuing node's (`iat_ms`): a token issued just before the
 * cut-off by a node running ahead outlived it, and so did every token issued before a cut-off made
 * on a node running behind. A token now carries the cut-off it was issued under (`va`).
 */
const SKEW_MS = 2 * 60_000

async function logIn(app: FastifyInstance, who: TestAccount): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/users/login',
    headers: { 'x-forwarded-for': '10.200.0.1' },
    payload: { email: who.email, password: PASSWORD },
  })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).token
}

const read = (app: FastifyInstance, token: string) =>
  app.inject({
    method: 'GET',
    url: '/api/v1/streams?per_page=1',
    headers: { authorization: `Bearer ${token}` },
  })

const logOutEverywhere = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'DELETE', url: '/api/v1/logout/all', headers: { authorization: `Bearer ${token}` } })

/** A token signed as before tokens carried `va`: judged by its issue time. */
function oldStyleToken(who: TestAccount, issuedMs: number): Promise<string> {
  const key = createHmac('sha256', JWT_SECRET).update('ovasabi:streamsource:v1').digest()
  const now = Math.floor(issuedMs / 1000)
  return new SignJWT({ email: who.email, role: 'editor', svc: false, iat_ms: issuedMs })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('ovasabi:streamsource')
    .setSubject(String(who.id))
    .setJti(ulid())
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key)
}

for (const dialect of DIALECTS) {
  describe(`StreamSource log out everywhere across nodes whose clocks differ (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('refuses a token issued just before it by a node whose clock runs ahead', async () => {
      const { app } = suite
      const who = await account(app, 'editor')
      const ahead = await onClock(SKEW_MS, () => logIn(app, who))
      assert.equal((await read(app, ahead)).statusCode, 200)

      assert.equal((await logOutEverywhere(app, who.token)).statusCode, 200)
      assert.equal((await read(app, ahead)).statusCode, 401, 'the token from the node ahead')
    })

    it("refuses every earlier token when the admin's node cutting off runs behind", async () => {
      const { app } = suite
      const who = await account(app, 'editor')
      const earlier = await logIn(app, who)
      assert.equal((await read(app, earlier)).statusCode, 200)

      const cut = await onClock(-SKEW_MS, () =>
        app.inject({ method: 'POST', url: `/api/v1/users/${who.id}/revoke_tokens`, headers: adminHeaders }),
      )
      assert.equal(cut.statusCode, 200, cut.body)
      assert.equal((await read(app, earlier)).statusCode, 401, 'the token issued before the cut-off')
      assert.equal((await read(app, who.token)).statusCode, 401, "the account's first token")
    })

    it("honours a login made after it, whichever node's clock issues it, until the next one", async () => {
      const { app } = suite
      const who = await account(app, 'editor')
      assert.equal((await onClock(SKEW_MS, () => logOutEverywhere(app, who.token))).statusCode, 200)
      const behind = await onClock(-SKEW_MS, () => logIn(app, who))
      const now = await logIn(app, who)
      assert.equal((await read(app, behind)).statusCode, 200, 'a login on a node behind')
      assert.equal((await read(app, now)).statusCode, 200, 'a login on a node on time')

      // A second logout everywhere, from a node behind the first, still ends them both.
      assert.equal((await onClock(-SKEW_MS, () => logOutEverywhere(app, now))).statusCode, 200)
      assert.equal((await read(app, behind)).statusCode, 401, 'after the second logout, the login behind')
      assert.equal((await read(app, now)).statusCode, 401, 'after the second logout, the login on time')
    })

    it('a password changed on a node behind keeps the token it answers with and ends the others', async () => {
      const { app } = suite
      const who = await account(app, 'editor')
      const other = await logIn(app, who)
      const changed = await onClock(-SKEW_MS, () =>
        app.inject({
          method: 'PUT',
          url: '/api/v1/users/password',
          headers: who.headers,
          payload: {
            user: {
              current_password: PASSWORD,
              password: 'N3wPassw0rdOk',
              password_confirmation: 'N3wPassw0rdOk',
            },
          },
        }),
      )
      assert.equal(changed.statusCode, 200, changed.body)
      assert.equal((await read(app, json(changed).token)).statusCode, 200, 'the token the change answered')
      assert.equal((await read(app, other)).statusCode, 401, 'a token from before the change')
    })

    it('keeps judging tokens without `va` by their issue time', async () => {
      const { app } = suite
      const who = await account(app, 'editor')
      const before = await oldStyleToken(who, Date.now() - 60_000)
      assert.equal((await read(app, before)).statusCode, 200)
      assert.equal((await logOutEverywhere(app, who.token)).statusCode, 200)
      assert.equal((await read(app, before)).statusCode, 401, 'an old-style token issued before the logout')
      const after = await oldStyleToken(who, Date.now() + 60_000)
      assert.equal((await read(app, after)).statusCode, 200, 'an old-style token issued after the logout')
    })
  })
}
