import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createUserService } from '../src/modules/user/user.service.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { REDIS_COMMAND_TIMEOUT_MS } from '../src/platform/redis.js'
import { buildTestApp, createCampaign, json, REDIS_URL, type TestContext } from './helper.js'

const PASSWORD = 'correct horse 42'
const email = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`

/** A client as `createRedis` makes one, for a Redis that is not there (nothing listens on port 1). */
function deadRedis(): Redis {
  const client = new Redis('redis://127.0.0.1:1', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  })
  client.on('error', () => {})
  return client
}

describe('the login limiter while Redis is down', () => {
  const clients: Redis[] = []
  after(() => {
    for (const c of clients) c.disconnect()
  })
  const dead = () => {
    const c = deadRedis()
    clients.push(c)
    return c
  }

  it('keeps limiting on this node, and says so once', async () => {
    const outages: unknown[] = []
    const limiter = createRateLimiter({ redis: dead(), onFallback: (err) => outages.push(err) })
    for (let i = 0; i < 3; i++) assert.equal((await limiter.consume('k', 3, 60_000)).allowed, true)
    const refused = await limiter.consume('k', 3, 60_000)
    assert.equal(refused.allowed, false)
    assert.ok(refused.retryAfter > 0 && refused.retryAfter <= 60)
    assert.equal((await limiter.consume('other', 3, 60_000)).allowed, true)
    await limiter.reset('k')
    assert.equal((await limiter.consume('k', 3, 60_000)).allowed, true)
    assert.equal(outages.length, 1)
  })

  it('answers logins 401 and then 429, never 500, and lets the right password in', async () => {
    const ctx = await buildTestApp()
    try {
      const { app } = ctx
      const slug = await createCampaign(app)
      const users = createUserService({
        db: app.platform.database.db,
        tokens: app.platform.tokens,
        publisher: app.publisher,
        limiter: createRateLimiter({ redis: dead() }),
      })
      const address = email('down')
      const joined = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        payload: { campaign: slug, email: address, name: 'Dee', password: PASSWORD },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const attempt = (password: string) =>
        users.login({ email: address, password }, { ip: '10.7.0.2' }).then(
          () => 200,
          (err: { statusCode?: number }) => err.statusCode ?? err,
        )
      assert.equal(await attempt(PASSWORD), 200)
      for (let i = 0; i < 5; i++) assert.equal(await attempt('wrong password 1'), 401)
      assert.equal(await attempt('wrong password 1'), 429)
      assert.equal(await attempt(PASSWORD), 429, 'the budget holds for the right password too')
    } finally {
      await ctx.close()
    }
  })
})

describe('logins when the app’s Redis goes away', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ redis: true })
  })
  after(() => ctx.close())

  const login = (address: string, password: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: address, password },
      headers: { 'x-forwarded-for': '10.8.0.1' },
    })

  it('limits per node instead of failing every login with a 500', async () => {
    const { app } = ctx
    const slug = await createCampaign(app)
    const address = email('gone')
    const joined = await app.inject({
      method: 'POST',
      url: '/api/user/register',
      payload: { campaign: slug, email: address, name: 'Gus', password: PASSWORD },
    })
    assert.equal(joined.statusCode, 201, joined.body)

    app.platform.redis!.disconnect()

    assert.equal((await login(address, PASSWORD)).statusCode, 200)
    for (let i = 0; i < 5; i++) {
      const res = await login(address, 'wrong password 1')
      assert.equal(res.statusCode, 401, res.body)
    }
    const limited = await login(address, 'wrong password 1')
    assert.equal(limited.statusCode, 429, limited.body)
    assert.equal(json(limited).error.code, 'RATE_LIMITED')
    assert.ok(Number(limited.headers['retry-after']) > 0)
  })
})
