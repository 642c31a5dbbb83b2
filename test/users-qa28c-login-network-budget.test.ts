import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { limiterKinds, usersLimitedBy } from './limiter-fixtures.js'
import { createCampaign, DIALECTS, joinWithPassword, suiteApp } from './helper.js'

/**
 * The login budget per client network counted successful logins too: more than `perIp` people
 * behind one NAT (30 a quarter hour by default), or a script logging in often, were refused 429
 * although nobody guessed anything. A right password now gives its attempt back; wrong ones still
 * spend the budget, and are counted before the check.
 */
const LIMITS = {
  perIp: 3,
  perEmailAndNetwork: 5,
  perEmail: 100,
  windowMs: 60_000,
  passwordJoinsPerNetwork: 30,
  joinWindowMs: 60_000,
}

const limiters = limiterKinds('qa28c')

for (const { name, make } of limiters) {
  describe(`release of a counted attempt (limits ${name})`, () => {
    it('takes one back from the window it was counted in, never below none, never from a later one', async () => {
      const limiter = await make()
      for (let i = 0; i < 2; i++) await limiter.consume('k', 2, 60_000)
      await limiter.release('k', Date.now() + 60_000)
      assert.equal((await limiter.consume('k', 2, 60_000)).allowed, true)
      assert.equal((await limiter.consume('k', 2, 60_000)).allowed, false)

      await limiter.release('fresh', Date.now() + 60_000)
      assert.equal((await limiter.consume('fresh', 1, 60_000)).allowed, true)
      assert.equal((await limiter.consume('fresh', 1, 60_000)).allowed, false, 'no count below none')

      // Counted in a window that ended 10 s ago (it ended by then); the one open now keeps its count.
      await limiter.consume('later', 1, 60_000)
      await limiter.release('later', Date.now() + 50_000)
      assert.equal((await limiter.consume('later', 1, 60_000)).allowed, false)
    })
  })
}

for (const dialect of DIALECTS) {
  for (const { name, make } of limiters) {
    describe(`logins from one client network (${dialect}, limits ${name})`, () => {
      const suite = suiteApp({ dialect })

      it('people behind one NAT all log in; wrong passwords still spend the budget', async () => {
        const { app } = suite
        const slug = await createCampaign(app)
        const members = []
        for (let i = 0; i < LIMITS.perIp + 2; i++) members.push(await joinWithPassword(app, slug))
        const users = usersLimitedBy(app, await make(), LIMITS)
        const login = (email: string, password: string) =>
          users.login({ email, password }, { ip: '198.51.100.7' }).then(
            () => 200,
            (err: { statusCode?: number }) => err.statusCode ?? 500,
          )
        const statuses: number[] = []
        for (const m of members) statuses.push(await login(m.email, m.password))
        statuses.push(await login(members[0]!.email, members[0]!.password))
        assert.deepEqual(statuses, Array(LIMITS.perIp + 3).fill(200))

        for (let i = 0; i < LIMITS.perIp; i++)
          assert.equal(await login(members[i]!.email, 'wrong guess 1'), 401)
        assert.equal(await login(members[0]!.email, members[0]!.password), 429, 'counted before the check')
      })
    })
  }
}
