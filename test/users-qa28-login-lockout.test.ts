import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { limiterKinds, usersLimitedBy } from './limiter-fixtures.js'
import { createCampaign, DIALECTS, joinWithPassword, suiteApp } from './helper.js'

/**
 * The ceiling on login attempts at one address over all networks stops a guesser spread over many
 * networks, but it is counted before the password is checked: a guesser with a handful of
 * addresses spent it, and the owner, at home on the network they always log in from, got 429 with
 * the right password for as long as the guesser kept going. A network the address logged in from
 * is not held by that ceiling (its own per-network budget still holds); any other still is.
 */
const LIMITS = {
  perIp: 30,
  perEmailAndNetwork: 3,
  // The owner's first login, then two of the guesser's networks at 3 each.
  perEmail: 7,
  windowMs: 60_000,
  passwordJoinsPerNetwork: 30,
  joinWindowMs: 60_000,
}

const limiters = limiterKinds('qa28')

for (const dialect of DIALECTS) {
  for (const { name, make } of limiters) {
    describe(`a distributed guesser and the owner's login (${dialect}, limits ${name})`, () => {
      const suite = suiteApp({ dialect })

      /** A person with a password, a user service with these limits, and their login's status code from `ip`. */
      async function owner() {
        const { app } = suite
        const member = await joinWithPassword(app, await createCampaign(app))
        const users = usersLimitedBy(app, await make(), LIMITS)
        const login = (ip: string, password: string) =>
          users.login({ email: member.email, password }, { ip }).then(
            () => 200,
            (err: { statusCode?: number }) => err.statusCode ?? 500,
          )
        return { member, users, login }
      }

      it('cannot lock the owner out of the network they logged in from', async () => {
        const { member, login } = await owner()
        const home = '198.51.100.7'
        assert.equal(await login(home, member.password), 200)

        // Two networks of the guesser's spend the address's ceiling (3 each).
        for (const net of ['203.0.113.1', '203.0.113.2']) {
          for (let i = 0; i < LIMITS.perEmailAndNetwork; i++)
            assert.equal(await login(net, 'wrong guess 1'), 401)
        }
        assert.equal(await login('203.0.113.3', 'wrong guess 2'), 429, 'a further network of the guesser')
        assert.equal(await login('203.0.113.4', member.password), 429, 'a network never logged in from')

        assert.equal(await login(home, member.password), 200, 'the owner at home')
        // Home's own budget still holds there (a wrong guess of the owner's does not reset it).
        for (let i = 0; i < LIMITS.perEmailAndNetwork; i++)
          assert.equal(await login(home, 'typo typo 1'), 401)
        assert.equal(await login(home, member.password), 429, 'home past its own budget')
      })

      it('lets the owner in from the network they reset their password from', async () => {
        const { member, users, login } = await owner()
        // A guesser spends the address's ceiling over a few networks, the owner's own included.
        const cafe = '192.0.2.44'
        for (const net of ['203.0.113.11', '203.0.113.12'])
          for (let i = 0; i < LIMITS.perEmailAndNetwork; i++)
            assert.equal(await login(net, 'wrong guess 1'), 401)
        assert.equal(await login(cafe, 'wrong guess 1'), 401)
        assert.equal(
          await login(cafe, member.password),
          429,
          'the ceiling holds a network never logged in from',
        )

        await users.passwordResetFrom(member.email, cafe)
        assert.equal(await login(cafe, member.password), 200, 'the owner, after a reset from there')
        assert.equal(await login('203.0.113.13', member.password), 429, 'any other network is still held')
      })
    })
  }
}
