import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { createUserService } from '../src/modules/user/user.service.js'
import { createRateLimiter, type RateLimiter } from '../src/platform/http/rate-limiter.js'
import { closeRedis, createRedis } from '../src/platform/redis.js'
import type { RealtimePublisher } from '../src/realtime/publish.js'
import { createCampaign, DIALECTS, joinWithPassword, REDIS_URL, suiteApp } from './helper.js'

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

const limiters: Array<{ name: string; make: () => Promise<RateLimiter> }> = [
  { name: 'in memory', make: async () => createRateLimiter() },
]
const clients: Redis[] = []
if (REDIS_URL) {
  limiters.push({
    name: 'on Redis',
    make: async () => {
      const redis = await createRedis(REDIS_URL!)
      clients.push(redis)
      return createRateLimiter({ redis, prefix: `qa28:${randomBytes(6).toString('hex')}:` })
    },
  })
}
after(async () => {
  for (const c of clients) await closeRedis(c)
})

for (const dialect of DIALECTS) {
  for (const { name, make } of limiters) {
    describe(`a distributed guesser and the owner's login (${dialect}, limits ${name})`, () => {
      const suite = suiteApp({ dialect })

      it('cannot lock the owner out of the network they logged in from', async () => {
        const { app } = suite
        const member = await joinWithPassword(app, await createCampaign(app))
        const users = createUserService({
          db: app.platform.database.db,
          tokens: app.platform.tokens,
          publisher: { publish: async () => {} } as unknown as RealtimePublisher,
          limiter: await make(),
          loginLimits: LIMITS,
        })
        const login = (ip: string, password: string) =>
          users.login({ email: member.email, password }, { ip }).then(
            () => 200,
            (err: { statusCode?: number }) => err.statusCode ?? 500,
          )
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
    })
  }
}
