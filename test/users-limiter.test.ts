import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createUserService } from '../src/modules/user/user.service.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { REDIS_COMMAND_TIMEOUT_MS } from '../src/platform/redis.js'
import { buildTestApp, createCampaign, json, REDIS_URL, type TestContext } from './helper.js'
import { assertLimitsPerKey } from './rate-limiter-contract.js'

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
    await assertLimitsPerKey(limiter)
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

describe('login budgets per address and client network', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp()
  })
  after(() => ctx.close())

  const login = (address: string, password: string, from: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: address, password },
      headers: { 'x-forwarded-for': from },
    })
  const member = async (tag: string) => {
    const address = email(tag)
    const joined = await ctx.app.inject({
      method: 'POST',
      url: '/api/user/register',
      payload: { campaign: await createCampaign(ctx.app), email: address, name: 'Owner', password: PASSWORD },
    })
    assert.equal(joined.statusCode, 201, joined.body)
    return address
  }
  const hex = () => randomBytes(2).toString('hex')
  /** A fresh IPv6 /64, as its first four groups. */
  const v6Network = () => `2001:db8:${hex()}:${hex()}`
  /** An address of a fresh client network: IPv4, or with `v6` one of a fresh /64. */
  const network = (v6 = false) =>
    v6 ? `${v6Network()}::1` : `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`

  it('locks out the guesser’s network, not the owner on theirs', async () => {
    const address = await member('owner')
    const attacker = network()
    for (let i = 0; i < 5; i++) {
      assert.equal((await login(address, `guess number ${i}`, attacker)).statusCode, 401)
    }
    const locked = await login(address, PASSWORD, attacker)
    assert.equal(locked.statusCode, 429, 'the right password too, from the guessing network')
    assert.equal(json(locked).error.code, 'RATE_LIMITED')
    assert.ok(Number(locked.headers['retry-after']) > 0)
    // Each address of an IPv6 /64 is the same network.
    const v6 = v6Network()
    for (let i = 0; i < 5; i++) {
      assert.equal((await login(address, `guess number ${i}`, `${v6}::${i + 1}`)).statusCode, 401)
    }
    assert.equal((await login(address, PASSWORD, `${v6}:ffff::99`)).statusCode, 429)

    const home = network()
    assert.equal((await login(address, 'typo password 1', home)).statusCode, 401)
    assert.equal((await login(address, PASSWORD, home)).statusCode, 200, 'the owner, on their network')
    // The owner's success resets their own network's count, not the guesser's.
    for (let i = 0; i < 5; i++) assert.equal((await login(address, `typo ${i} again`, home)).statusCode, 401)
    assert.equal((await login(address, PASSWORD, attacker)).statusCode, 429)
  })

  it('stops a guesser spread over many networks at the address’s ceiling, for everyone', async () => {
    const address = await member('ceiling')
    // 99 guesses from 20 networks, at most 5 each: every one within its network's budget.
    for (let n = 0; n < 20; n++) {
      const from = network(n % 2 === 1)
      for (let i = 0; i < (n < 19 ? 5 : 4); i++) {
        const res = await login(address, `guess ${n} ${i}`, from)
        assert.equal(res.statusCode, 401, `network ${n}, guess ${i}: ${res.body}`)
      }
    }
    // The owner's login is the 100th attempt; it resets their network's count, not the ceiling,
    // which holds every network but the ones the address logged in from.
    const home = network()
    assert.equal((await login(address, PASSWORD, home)).statusCode, 200)
    assert.equal((await login(address, 'guess 20 0', network(true))).statusCode, 429)
    const elsewhere = await login(address, PASSWORD, network())
    assert.equal(elsewhere.statusCode, 429, elsewhere.body)
    assert.equal(json(elsewhere).error.code, 'RATE_LIMITED')
    assert.ok(Number(elsewhere.headers['retry-after']) > 0)
    assert.equal((await login(address, PASSWORD, home)).statusCode, 200, 'the owner, at home')
    // Other addresses are not touched.
    assert.equal((await login(await member('bystander'), PASSWORD, network())).statusCode, 200)
  })

  it('keeps the per-network limit across addresses (30 per 15 min)', async () => {
    const from = network()
    for (let i = 0; i < 30; i++) {
      const res = await login(email('spray'), PASSWORD, from)
      assert.equal(res.statusCode, 401, `attempt ${i}`)
    }
    const sprayed = await login(email('spray'), PASSWORD, from)
    assert.equal(sprayed.statusCode, 429)
    assert.ok(Number(sprayed.headers['retry-after']) > 0)
    assert.equal((await login(email('spray'), PASSWORD, network())).statusCode, 401)
  })
})
