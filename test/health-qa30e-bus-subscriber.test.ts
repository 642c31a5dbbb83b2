// `/health` and the event bus's subscriber (QA 30): in multi-node mode every event a node hears,
// its own included, arrives over one Redis pub/sub connection. When that connection is lost while
// Redis itself answers, the node still serves REST but none of its sockets hear anything; /health
// said healthy. It names `event_bus` down and answers 503 (this node alone is broken: the balancer
// should send its traffic elsewhere), and healthy again once the subscriber is back.
import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, json, REDIS_URL, type TestContext } from './helper.js'

/** How long anything here may take before the test calls it a hang (a guard, not a timing). */
const HANG_GUARD_MS = 20_000

/**
 * A proxy before the test's Redis that knows which of its connections subscribed (sent SUBSCRIBE).
 * `cutSubscribers()` drops those and refuses every new connection until `accept()`; the others
 * (the node's command connection) carry on.
 */
async function subscriberProxy(target: string) {
  const upstreamUrl = new URL(target)
  const subscribers = new Set<Socket>()
  const all = new Set<Socket>()
  let refusing = false
  const proxy = createServer((client) => {
    client.on('error', () => {})
    if (refusing) return client.destroy()
    const upstream = connect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname)
    upstream.on('error', () => {})
    all.add(client)
    const pair = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', pair)
    upstream.on('close', pair)
    client.on('data', (chunk: Buffer) => {
      if (/subscribe/i.test(chunk.toString('latin1'))) subscribers.add(client)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => client.write(chunk))
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    subscribed: () => subscribers.size,
    cutSubscribers() {
      refusing = true
      for (const s of subscribers) s.destroy()
      subscribers.clear()
    },
    /** Redis gone for every connection, until `accept()`. */
    cutAll() {
      refusing = true
      for (const s of all) s.destroy()
      all.clear()
      subscribers.clear()
    },
    accept() {
      refusing = false
    },
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  }
}

/** Polls `probe` until it returns a value, failing after the hang guard. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + HANG_GUARD_MS
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${HANG_GUARD_MS} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * For a `describe` block: the proxy and an app whose Redis is behind it, started before its tests
 * and closed after them (the proxy's connections with the app's).
 */
function proxiedApp() {
  const state: { proxy?: Awaited<ReturnType<typeof subscriberProxy>>; ctx?: TestContext } = {}
  before(async () => {
    state.proxy = await subscriberProxy(REDIS_URL!)
    state.ctx = await buildTestApp({ env: { REDIS_URL: state.proxy.url } })
  })
  after(async () => {
    await state.ctx?.close()
    state.proxy?.cutAll()
    await state.proxy?.close()
  })
  return state as Required<typeof state>
}

describe('/health reports the event bus subscriber', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  const app = proxiedApp()

  const health = async () => {
    const res = await app.ctx.app.inject({ method: 'GET', url: '/health' })
    return { code: res.statusCode, body: json(res) }
  }

  it('names event_bus down (503) while its connection is lost, and up again once it is back', async () => {
    const heard: unknown[] = []
    await app.ctx.app.platform.bus.subscribe('qa30e:probe', (m) => heard.push(m))
    assert.ok(app.proxy.subscribed() > 0, 'the node subscribed through the proxy')

    const up = await health()
    assert.equal(up.code, 200, JSON.stringify(up.body))
    assert.equal(up.body.dependencies.event_bus?.status, 'up', JSON.stringify(up.body))

    app.proxy.cutSubscribers()
    // A probe that comes while the check still waits on the lost connection is told `down`, not
    // yet whose fault: the check's answer (Redis answers, so this node's) follows.
    const down = await until('event_bus reported down, critical', async () => {
      const h = await health()
      return h.code === 503 ? h : undefined
    })
    assert.equal(down.body.dependencies.event_bus?.status, 'down', JSON.stringify(down.body))
    assert.equal(down.code, 503, JSON.stringify(down.body))
    assert.equal(down.body.status, 'unhealthy')
    assert.equal(down.body.dependencies.event_bus.critical, true)
    // Redis itself answers (the command connection was not touched): the fault is this node's.
    assert.equal(down.body.dependencies.redis.status, 'up', JSON.stringify(down.body))
    assert.equal((await app.ctx.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503)

    app.proxy.accept()
    const back = await until('event_bus reported up again', async () => {
      const h = await health()
      return h.code === 200 ? h : undefined
    })
    assert.equal(back.body.dependencies.event_bus.status, 'up')
    // Up means subscribed again: a message published now is heard.
    await app.ctx.app.platform.bus.publish('qa30e:probe', { n: 1 })
    await until('the probe message heard', async () => (heard.length > 0 ? true : undefined))
    assert.deepEqual(heard, [{ n: 1 }])
  })
})

describe('/health with Redis gone', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  const app = proxiedApp()

  it('names event_bus down but not critical: every node shares the outage (200 degraded)', async () => {
    await app.ctx.app.platform.bus.subscribe('qa30e:gone', () => {})
    app.proxy.cutAll()
    const res = await until('redis and event_bus reported down', async () => {
      const r = await app.ctx.app.inject({ method: 'GET', url: '/health' })
      const d = json(r).dependencies
      return d.redis.status === 'down' &&
        d.event_bus?.status === 'down' &&
        d.event_bus.latency_ms !== undefined
        ? r
        : undefined
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(json(res).status, 'degraded')
    assert.equal(json(res).dependencies.event_bus.critical, false)
  })
})

describe('/health without Redis', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ env: { REDIS_URL: '' } })
  })
  after(() => ctx.close())

  it('reports the in-process event bus up', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/health' })
    assert.equal(res.statusCode, 200)
    assert.equal(json(res).dependencies.event_bus?.status, 'up', res.body)
    assert.match(json(res).dependencies.event_bus.details, /memory/)
  })
})
