import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, buildTestApp, DIALECTS, json, REDIS_URL, type TestContext } from '../helper.js'
import { redisProxy } from '../redis-proxy.js'
import { account } from './helpers.js'

const LIMITS = {
  STREAMSOURCE_RATE_LIMIT_ANONYMOUS: '3',
  STREAMSOURCE_RATE_LIMIT_AUTHENTICATED: '5',
  STREAMSOURCE_RATE_LIMIT_SERVICE: '8',
}
/** A client address of its own (the app trusts X-Forwarded-For), so runs never share a window. */
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`

/**
 * Windows are aligned to the clock minute (every node agrees on them), so a burst that straddles
 * a minute boundary is counted in two windows. Start each burst with at least 10 s of its window
 * left; the wait is at most that long, and nothing here asserts a duration.
 */
async function awayFromWindowEnd() {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 50))
}

async function exhaust(app: FastifyInstance, headers: Record<string, string>, url = '/api/v1/streams') {
  await awayFromWindowEnd()
  const statuses: number[] = []
  let last: Awaited<ReturnType<FastifyInstance['inject']>> | undefined
  for (let i = 0; i < 12; i++) {
    last = await app.inject({ url, headers })
    statuses.push(last.statusCode)
    if (last.statusCode === 429) break
  }
  return { statuses, last: last! }
}

for (const dialect of DIALECTS) {
  describe(`/api/v1 rate limits (${dialect})`, () => {
    let ctx: TestContext
    before(async () => {
      ctx = await buildTestApp({ dialect, env: LIMITS })
    })
    after(async () => ctx.close())

    it('sends X-RateLimit headers on every response, errors included', async () => {
      const ip = randomIp()
      for (const url of ['/api/v1/streams', '/api/v1/nope']) {
        const res = await ctx.app.inject({ url, headers: { 'x-forwarded-for': ip } })
        assert.ok([401, 404].includes(res.statusCode))
        assert.equal(res.headers['x-ratelimit-limit'], '3')
        assert.match(String(res.headers['x-ratelimit-remaining']), /^\d+$/)
        const reset = Number(res.headers['x-ratelimit-reset'])
        assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 61, 'reset is an epoch second')
      }
      assert.equal(json(await ctx.app.inject({ url: '/api/v1/nope' })).error, 'Not found')
    })

    it('limits anonymous, signed-in and service callers in their own tiers, then answers 429', async () => {
      const anon = await exhaust(ctx.app, { 'x-forwarded-for': randomIp() })
      assert.deepEqual(anon.statuses, [401, 401, 401, 429])
      assert.deepEqual(json(anon.last), { error: 'Too many requests. Please try again later.' })
      assert.ok(Number(anon.last.headers['retry-after']) >= 1)
      assert.equal(anon.last.headers['x-ratelimit-remaining'], '0')

      const user = await account(ctx.app, 'default')
      const signed = await exhaust(ctx.app, { ...user.headers, 'x-forwarded-for': randomIp() })
      assert.deepEqual(signed.statuses, [200, 200, 200, 200, 200, 429])
      assert.equal(signed.last.headers['x-ratelimit-limit'], '5')
      // The limit follows the account, not the address.
      assert.equal(
        (
          await ctx.app.inject({
            url: '/api/v1/streams',
            headers: { ...user.headers, 'x-forwarded-for': randomIp() },
          })
        ).statusCode,
        429,
      )

      const service = await account(ctx.app, 'editor', { service: true })
      const svc = await exhaust(ctx.app, { ...service.headers, 'x-forwarded-for': randomIp() })
      assert.equal(svc.statuses.filter((s) => s === 200).length, 8)
      assert.equal(svc.last.statusCode, 429)
      const key = await exhaust(ctx.app, { ...adminHeaders, 'x-forwarded-for': randomIp() })
      assert.equal(key.last.statusCode, 429)
      assert.equal(key.last.headers['x-ratelimit-limit'], '8', 'API keys are service callers')
    })

    it('counts an anonymous IPv6 caller by its /64, and an IPv4-mapped address as that IPv4 address', async () => {
      // Runs never share a window: a /64 of their own (and the next one up, as another client).
      const site = `2001:db8:${randomInt(0x10000).toString(16)}`
      const subnet = randomInt(0xffff)
      const net = `${site}:${subnet.toString(16)}`
      await awayFromWindowEnd()
      const statuses = []
      // Each from another address of one /64, as its holder may send them.
      for (let i = 1; i <= 4; i++) {
        const res = await ctx.app.inject({
          url: '/api/v1/streams',
          headers: { 'x-forwarded-for': `${net}::${i}` },
        })
        statuses.push(res.statusCode)
      }
      assert.deepEqual(statuses, [401, 401, 401, 429])
      const elsewhere = await ctx.app.inject({
        url: '/api/v1/streams',
        headers: { 'x-forwarded-for': `${site}:${(subnet + 1).toString(16)}::1` },
      })
      assert.equal(elsewhere.statusCode, 401, 'another /64 is another client')

      const v4 = randomIp()
      const mapped = await exhaust(ctx.app, { 'x-forwarded-for': `::ffff:${v4}` })
      assert.deepEqual(mapped.statuses, [401, 401, 401, 429])
      const plain = await ctx.app.inject({ url: '/api/v1/streams', headers: { 'x-forwarded-for': v4 } })
      assert.equal(plain.statusCode, 429, 'the IPv4 address and its mapped form are one client')
    })
  })
}

describe('/api/v1 rate limits shared by two nodes through Redis', {
  skip: !REDIS_URL && 'REDIS_URL not set',
}, () => {
  let a: TestContext
  let b: TestContext
  before(async () => {
    // One shared PostgreSQL database when there is one (the real deployment); else PGlite each.
    a = await buildTestApp({
      redis: true,
      env: LIMITS,
      ...(process.env.DATABASE_URL ? { dialect: 'postgres' as const } : {}),
    })
    b = await buildTestApp({
      redis: true,
      env: LIMITS,
      ...(a.databaseUrl ? { databaseUrl: a.databaseUrl } : {}),
    })
  })
  after(async () => {
    await a?.close()
    await b?.close()
  })

  it('counts one client across both nodes', async () => {
    const headers = { 'x-forwarded-for': randomIp() }
    const statuses = []
    await awayFromWindowEnd()
    for (const node of [a, b, a, b])
      statuses.push((await node.app.inject({ url: '/api/v1/streams', headers })).statusCode)
    assert.deepEqual(statuses, [401, 401, 401, 429])
  })
})

describe('/api/v1 while Redis is unreachable', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('answers from a per-node count instead of a 500, and still limits login guesses', async () => {
    // The app reaches Redis through a proxy the test can cut, as a network failure would.
    const proxy = await redisProxy(REDIS_URL!)
    const t = await buildTestApp({ env: { ...LIMITS, REDIS_URL: proxy.url } })
    try {
      const user = await account(t.app, 'default')
      proxy.cut()

      await awayFromWindowEnd()
      const headers = { ...user.headers, 'x-forwarded-for': randomIp() }
      const read = await t.app.inject({ url: '/api/v1/streams', headers })
      assert.equal(read.statusCode, 200, read.body)
      assert.equal(read.headers['x-ratelimit-limit'], '5')
      // Guesses at one email are still counted (on this node): from networks of their own (the
      // anonymous tier here allows each only three requests), the email's ceiling of 100 refuses.
      const statuses: number[] = []
      for (let i = 0; i < 101; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/users/login',
          headers: { 'x-forwarded-for': randomIp() },
          payload: { email: user.email, password: `Wrong${i}abcd` },
        })
        statuses.push(res.statusCode)
      }
      assert.deepEqual(statuses, [...Array(100).fill(401), 429])
    } finally {
      proxy.cut()
      await t.close().catch(() => {})
    }
  })
})
