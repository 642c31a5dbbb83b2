import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { ConfigError, loadConfig } from '../src/config.js'
import { createRedisCollabStore } from '../src/modules/stream/cable/collab.store.js'
import { createRedisViewerCounter } from '../src/modules/stream/live.viewers.js'
import { createRedisRateLimiter } from '../src/modules/stream/ratelimit.js'
import { createRedisBus } from '../src/platform/bus/redis.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { closeRedis, createRedis, namePrefix } from '../src/platform/redis.js'
import { createRedisPresence } from '../src/realtime/presence-redis.js'
import { adminHeaders, buildTestApp, REDIS_URL, type TestContext, uniqueSlug } from './helper.js'
import { baseUrl, connect, type TestClient, waitUntil } from './realtime/client.js'

// Deployments sharing one Redis server stay apart with REDIS_PREFIX: keys and bus channels get
// `<prefix>:` in front; with none, the names are those older nodes use.

const CHANGED_CHANNEL = 'ovasabi:campaign:changed'
/** A client address of its own; three digits last, so no other address has it as its start. */
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(100, 255)}`
const token = () => randomBytes(4).toString('hex')

/** Every key of the whole Redis server matching `pattern` (SCAN: ioredis does not prefix it). */
async function scanKeys(raw: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** `/api/v1` windows are aligned to the clock minute: start a burst with 10 s of it left. */
async function awayFromWindowEnd() {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 50))
}

describe('REDIS_PREFIX configuration', () => {
  const base = { DATA_DIR: '/nonexistent', JWT_SECRET: 'x'.repeat(40) }

  it('refuses a prefix that is not a short token, naming the setting', () => {
    for (const bad of ['a b', 'staging:eu', 'a*', 'x'.repeat(65), 'é']) {
      assert.throws(
        () => loadConfig({ ...base, REDIS_PREFIX: bad }),
        (err: unknown) =>
          err instanceof ConfigError && /^REDIS_PREFIX=.*letters, digits/.test(err.problems[0]!),
        bad,
      )
    }
  })

  it('takes a token as it is, and an empty or missing one as no prefix', () => {
    assert.equal(loadConfig({ ...base, REDIS_PREFIX: 'staging.eu-1_a' }).REDIS_PREFIX, 'staging.eu-1_a')
    assert.equal(loadConfig({ ...base, REDIS_PREFIX: '' }).REDIS_PREFIX, undefined)
    assert.equal(loadConfig(base).REDIS_PREFIX, undefined)
  })
})

describe('REDIS_PREFIX: two deployments on one Redis', { skip: !REDIS_URL && 'REDIS_URL is not set' }, () => {
  const A = `a_${token()}`
  const B = `b_${token()}`
  const limits = { STREAMSOURCE_RATE_LIMIT_ANONYMOUS: '3' }
  let a: TestContext
  let a2: TestContext // a second node of deployment A
  let b: TestContext
  let raw: Redis
  const clients: TestClient[] = []
  const slug = uniqueSlug('pfx')
  const ip = randomIp()

  const campaignOn = async ({ app }: TestContext, name = slug) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/campaign',
      headers: adminHeaders,
      payload: {
        slug: name,
        title: name,
        metadata: { features: ['presence', 'analytics'], scheduling: { frequency: 10 } },
      },
    })
    assert.equal(res.statusCode, 201, res.body)
  }
  const socketOn = async (ctx: TestContext) => {
    const guest = await ctx.app.platform.tokens.issueGuest()
    const c = await connect(`${baseUrl(ctx.app)}/ws/${slug}/guest?token=${guest.token}`)
    clients.push(c)
    return c
  }
  const eventsOf = (c: TestClient) => c.frames.filter((f) => f.type === 'campaign_event')

  before(async () => {
    raw = new Redis(REDIS_URL!)
    // Each node has a database of its own (PGlite): what they share is Redis alone.
    a = await buildTestApp({ redis: true, env: { REDIS_PREFIX: A, ...limits } })
    a2 = await buildTestApp({ redis: true, env: { REDIS_PREFIX: A, ...limits } })
    b = await buildTestApp({ redis: true, env: { REDIS_PREFIX: B, ...limits } })
    for (const ctx of [a, a2, b]) await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of clients) c.close()
    for (const ctx of [b, a2, a]) await ctx?.close()
    raw?.disconnect()
  })

  it('delivers bus messages to the nodes of its own prefix only', async () => {
    const heard = { a2: [] as unknown[], b: [] as unknown[] }
    await a2.app.platform.bus.subscribe(CHANGED_CHANNEL, (m) => void heard.a2.push(m))
    await b.app.platform.bus.subscribe(CHANGED_CHANNEL, (m) => void heard.b.push(m))
    await campaignOn(a) // publishes a campaign change on A
    await waitUntil(() => heard.a2.length === 1, 10_000, 'A to hear its own change')
    // A creation: the message says there was no campaign before it (`previous: null`, QA 31a).
    assert.deepEqual(heard.a2, [{ slug, previous: null }])
    // B's own change comes after A's on one connection: had B heard A's, it would be first.
    const onlyB = uniqueSlug('pfx')
    await campaignOn(b, onlyB)
    await waitUntil(() => heard.b.length >= 1, 10_000, 'B to hear its own change')
    assert.deepEqual(heard.b, [{ slug: onlyB, previous: null }])
    const againA = uniqueSlug('pfx')
    await campaignOn(a, againA)
    await waitUntil(() => heard.a2.length === 2, 10_000, "A's second change")
    assert.deepEqual(
      heard.a2,
      [
        { slug, previous: null },
        { slug: againA, previous: null },
      ],
      "B's change never reached A",
    )
  })

  it("delivers realtime frames to its own prefix's sockets only, with its own history ids", async () => {
    await campaignOn(a2) // each node has its own database
    await campaignOn(b)
    const ca = await socketOn(a)
    const ca2 = await socketOn(a2)
    const cb = await socketOn(b)
    // Presence is per deployment: A's two nodes count two users, B one.
    await ca.next((f) => f.type === 'presence_update' && f.active_users === 2)
    await ca2.next((f) => f.type === 'presence_update' && f.active_users === 2)
    await cb.next((f) => f.type === 'presence_update' && f.active_users === 1)

    await a.app.publisher.publish(
      { scope: 'campaign', campaign: slug },
      { type: 'campaign_event', event: 'x', k: 1 },
    )
    const onA = await ca.next((f) => f.type === 'campaign_event' && f.k === 1)
    const onA2 = await ca2.next((f) => f.type === 'campaign_event' && f.k === 1)
    assert.equal(onA.id, onA2.id)
    await b.app.publisher.publish(
      { scope: 'campaign', campaign: slug },
      { type: 'campaign_event', event: 'x', k: 2 },
    )
    const onB = await cb.next((f) => f.type === 'campaign_event' && f.k === 2)
    // Separate histories: B's first event of the campaign is its first id, not the one after A's.
    assert.equal(onB.id, onA.id)
    await a.app.publisher.publish(
      { scope: 'campaign', campaign: slug },
      { type: 'campaign_event', event: 'x', k: 3 },
    )
    await ca.next((f) => f.type === 'campaign_event' && f.k === 3)
    await ca2.next((f) => f.type === 'campaign_event' && f.k === 3)
    await b.app.publisher.publish(
      { scope: 'campaign', campaign: slug },
      { type: 'campaign_event', event: 'x', k: 4 },
    )
    await cb.next((f) => f.type === 'campaign_event' && f.k === 4)

    assert.deepEqual(
      eventsOf(ca).map((f) => f.k),
      [1, 3],
    )
    assert.deepEqual(
      eventsOf(ca2).map((f) => f.k),
      [1, 3],
    )
    assert.deepEqual(
      eventsOf(cb).map((f) => f.k),
      [2, 4],
    )
    assert.ok(
      !cb.frames.some((f) => f.type === 'presence_update' && f.active_users > 1),
      "B never counts A's users",
    )
  })

  it('counts /api/v1 rate limits per prefix: shared by the nodes of one, not across', async () => {
    await awayFromWindowEnd()
    const hit = (ctx: TestContext) =>
      ctx.app.inject({ url: '/api/v1/streams', headers: { 'x-forwarded-for': ip } }).then((r) => r.statusCode)
    const statuses = [await hit(a), await hit(a2), await hit(a), await hit(a2)]
    assert.deepEqual(statuses, [401, 401, 401, 429])
    assert.equal(await hit(b), 401, "A's count is not B's")
  })

  it('keeps every key under its prefix, and none without one', async () => {
    // Everything these deployments wrote that names the campaign or the client's address.
    const named = [...(await scanKeys(raw, `*${slug}*`)), ...(await scanKeys(raw, `*${ip}*`))]
    const outside = named.filter((k) => !k.startsWith(`${A}:ovasabi:`) && !k.startsWith(`${B}:ovasabi:`))
    assert.deepEqual(outside, [])
    const ofA = await scanKeys(raw, `${A}:*`)
    for (const key of [`rt:seq:${slug}`, `rt:h:${slug}`, `rt:{presence}:p:${slug}`, 'rt:{presence}:nodes'])
      assert.ok(ofA.includes(`${A}:ovasabi:${key}`), `${key} under ${A}: ${ofA.join(', ')}`)
    // The /api/v1 tiers, and the global per-client limit (@fastify/rate-limit's own script) of the
    // requests above without an X-Forwarded-For (/api/v1 is outside it).
    assert.ok(ofA.some((k) => k.startsWith(`${A}:ovasabi:ss:rl:`) && k.includes(ip)))
    assert.ok(ofA.includes(`${A}:ovasabi:rl:127.0.0.1`), 'the global limit under A')
    assert.ok((await scanKeys(raw, `${B}:ovasabi:rt:seq:${slug}`)).length === 1)
    // Node registries apart: A's two nodes are in A's alone, and in no unprefixed one.
    const nodesA = await raw.smembers(`${A}:ovasabi:rt:{presence}:nodes`)
    const nodesB = await raw.smembers(`${B}:ovasabi:rt:{presence}:nodes`)
    assert.equal(nodesA.length, 2)
    assert.equal(nodesB.length, 1)
    const unprefixed = new Set(await raw.smembers('ovasabi:rt:{presence}:nodes'))
    assert.ok(
      ![...nodesA, ...nodesB].some((n) => unprefixed.has(n) || (nodesA.includes(n) && nodesB.includes(n))),
    )
  })
})

describe('REDIS_PREFIX: the Redis stores', { skip: !REDIS_URL && 'REDIS_URL is not set' }, () => {
  const A = `a_${token()}`
  const B = `b_${token()}`
  let a: Redis
  let a2: Redis
  let b: Redis
  let raw: Redis
  before(async () => {
    a = await createRedis(REDIS_URL!, { prefix: A })
    a2 = await createRedis(REDIS_URL!, { prefix: A })
    b = await createRedis(REDIS_URL!, { prefix: B })
    raw = new Redis(REDIS_URL!)
  })
  after(async () => {
    for (const c of [a, a2, b]) await closeRedis(c)
    raw.disconnect()
  })

  it('names the prefix once, with its separator', () => {
    assert.equal(namePrefix(a), `${A}:`)
  })

  it('counts rate limits per prefix', async () => {
    const key = `login:${token()}`
    const onA = createRateLimiter({ redis: a })
    const onA2 = createRateLimiter({ redis: a2 })
    const onB = createRateLimiter({ redis: b })
    assert.equal((await onA.consume(key, 2, 60_000)).count, 1)
    assert.equal((await onA2.consume(key, 2, 60_000)).count, 2)
    assert.equal((await onB.consume(key, 2, 60_000)).count, 1)
    assert.equal(await raw.get(`${A}:ovasabi:limit:${key}`), '2')
    assert.equal(await raw.exists(`ovasabi:limit:${key}`), 0)
    await onA.reset(key)
    assert.equal(await raw.exists(`${A}:ovasabi:limit:${key}`), 0)
    assert.equal(await raw.get(`${B}:ovasabi:limit:${key}`), '1')
    const tierA = createRedisRateLimiter(a)
    const tierB = createRedisRateLimiter(b)
    const tier = `anon:${token()}`
    await tierA.hit(tier, 5)
    assert.equal((await tierA.hit(tier, 5)).remaining, 3)
    assert.equal((await tierB.hit(tier, 5)).remaining, 4)
  })

  it('keeps StreamSource cable locks apart per prefix, and exclusive within one', async () => {
    const cell = `cell_${token()}`
    const storeA = createRedisCollabStore(a)
    const storeA2 = createRedisCollabStore(a2)
    const storeB = createRedisCollabStore(b)
    assert.ok(await storeA.lock(cell, 'alice', 30_000))
    assert.equal(await storeA2.lock(cell, 'carol', 30_000), undefined, 'held within A')
    assert.ok(await storeB.lock(cell, 'bob', 30_000), "A's lock does not hold B's cell")
    assert.equal(await storeA2.holder(cell), 'alice')
    assert.equal(await storeB.holder(cell), 'bob')
    assert.equal(await raw.get(`${A}:ovasabi:cable:lock:${cell}`), 'alice')
    assert.equal(await raw.exists(`ovasabi:cable:lock:${cell}`), 0)
    assert.equal(await storeB.unlock(cell, 'alice'), false)
    assert.equal(await storeA.unlock(cell, 'alice'), true)
    assert.equal(await storeB.holder(cell), 'bob')
  })

  it('counts live viewers per prefix', async () => {
    const stream = randomInt(1, 2 ** 31)
    await createRedisViewerCounter(a, 'node_a').report(stream, 3)
    await createRedisViewerCounter(a2, 'node_a2').report(stream, 4)
    await createRedisViewerCounter(b, 'node_b').report(stream, 5)
    assert.equal(await createRedisViewerCounter(a, 'node_a').total(stream), 7)
    assert.equal(await createRedisViewerCounter(b, 'node_b').total(stream), 5)
    assert.equal(await raw.exists(`ovasabi:stream:viewers:${stream}`), 0)
  })

  it("takes a closing node's presence back from its own prefix's keys", async () => {
    const campaign = `c_${token()}`
    const campaignKey = `${A}:ovasabi:rt:{presence}:p:${campaign}`
    const presence = createRedisPresence({ redis: a, nodeId: `n_${token()}`, onReaped: () => {} })
    presence.join(campaign, 'user_1')
    await waitUntil(async () => (await raw.hget(campaignKey, 'user_1')) === '1', 10_000, 'the join')
    // Closing reaps the node in a script given the campaign keys it held (as KEYS, prefixed by ioredis).
    await presence.close()
    assert.equal(await raw.exists(campaignKey), 0)
  })

  it('prefixes bus channels and hands handlers the logical names', async () => {
    const channel = `ovasabi:prefix-test:${token()}`
    const bus = createRedisBus(a)
    const sub = new Redis(REDIS_URL!)
    const seen: unknown[] = []
    const rawHeard: string[] = []
    try {
      await bus.subscribe(channel, (m) => void seen.push(m))
      sub.on('message', (_c: string, m: string) => void rawHeard.push(m))
      await sub.subscribe(`${A}:${channel}`)
      await bus.publish(channel, { n: 1 })
      await waitUntil(() => seen.length === 1 && rawHeard.length === 1, 10_000, 'both to hear')
      assert.deepEqual(JSON.parse(rawHeard[0]!), { n: 1 })
      // A message on the bare name is another deployment's (an older node's, without a prefix).
      await raw.publish(channel, JSON.stringify({ n: 2 }))
      await raw.publish(`${A}:${channel}`, JSON.stringify({ n: 3 }))
      await waitUntil(() => seen.length === 2, 10_000, 'the prefixed message')
      assert.deepEqual(seen, [{ n: 1 }, { n: 3 }])
    } finally {
      sub.disconnect()
      await bus.close()
    }
  })
})

describe('REDIS_PREFIX unset: the names older nodes use', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  let ctx: TestContext
  let raw: Redis
  before(async () => {
    raw = new Redis(REDIS_URL!)
    ctx = await buildTestApp({ redis: true })
  })
  after(async () => {
    await ctx?.close()
    raw?.disconnect()
  })

  it('publishes and stores under the unprefixed names, and hears them', async () => {
    assert.equal(namePrefix(ctx.app.platform.redis!), '')
    const slug = uniqueSlug('pfx')
    const sub = new Redis(REDIS_URL!)
    try {
      const heard: Array<[string, string]> = []
      sub.on('message', (channel: string, m: string) => void heard.push([channel, m]))
      await sub.subscribe(`ovasabi:realtime:c:${slug}`, CHANGED_CHANNEL)
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/campaign',
        headers: adminHeaders,
        payload: { slug, title: slug, metadata: { features: ['analytics'] } },
      })
      assert.equal(res.statusCode, 201, res.body)
      await ctx.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x', k: 1 },
      )
      await waitUntil(
        () => heard.some(([c, m]) => c === `ovasabi:realtime:c:${slug}` && JSON.parse(m).frame.k === 1),
        10_000,
        'the frame on the bare channel',
      )
      assert.ok(heard.some(([c, m]) => c === CHANGED_CHANNEL && JSON.parse(m).slug === slug))
      assert.equal(await raw.get(`ovasabi:rt:seq:${slug}`), '1')
      assert.equal(await raw.llen(`ovasabi:rt:h:${slug}`), 1)
      // And it hears what an older node publishes on the bare name.
      const channel = `ovasabi:prefix-test:${randomBytes(4).toString('hex')}`
      const seen: unknown[] = []
      await ctx.app.platform.bus.subscribe(channel, (m) => void seen.push(m))
      await raw.publish(channel, JSON.stringify({ from: 'older node' }))
      await waitUntil(() => seen.length === 1, 10_000, 'the bare message')
      assert.deepEqual(seen, [{ from: 'older node' }])
    } finally {
      sub.disconnect()
    }
  })
})
