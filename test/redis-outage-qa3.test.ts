// Operating through a Redis outage: a Redis that went away, or one that stalled (the connection
// stays open, nothing answers), must neither hold a readiness probe nor a graceful shutdown.
import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import { startServerProcess } from './fixtures/server-process.js'
import { ADMIN_KEY, buildTestApp, freshPostgres, json, REDIS_URL, type TestContext } from './helper.js'
import { waitFor } from './wait-for.js'

/** How long anything here may take before the test calls it a hang (a guard, not a timing). */
const HANG_GUARD_MS = 15_000

/**
 * A proxy on a real port in front of the test's Redis. `stall()` keeps every connection open and
 * swallows every byte from then on (a Redis, or a network before it, that stopped answering);
 * `pingsSinceStall()` counts the PINGs it swallowed.
 */
async function stallableRedis(target: string) {
  const upstreamUrl = new URL(target)
  const sockets = new Set<Socket>()
  let stalled = false
  let swallowed = ''
  const proxy = createServer((client) => {
    const upstream = connect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
    }
    client.on('data', (chunk: Buffer) => {
      if (stalled) swallowed += chunk.toString('latin1')
      else upstream.write(chunk)
    })
    upstream.on('data', (chunk) => stalled || client.write(chunk))
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    stall() {
      stalled = true
    },
    pingsSinceStall: () => swallowed.match(/\r\nping\r\n/gi)?.length ?? 0,
    close() {
      proxy.close()
      for (const s of sockets) s.destroy()
    },
  }
}

function guard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no end after ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS)
    }),
  ]).finally(() => clearTimeout(timer))
}

describe('a stalled Redis (connected, silent)', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  const cleanup: Array<() => unknown> = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  it('readiness answers without waiting out its PING (Redis down, node ready), and one PING serves every probe meanwhile', async () => {
    const redis = await stallableRedis(REDIS_URL!)
    cleanup.push(() => redis.close())
    const t: TestContext = await buildTestApp({
      dialect: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      env: { REDIS_URL: redis.url },
    })
    let closed = false
    cleanup.push(() => closed || t.close())
    const before = await t.app.inject({ method: 'GET', url: '/health/ready' })
    assert.equal(before.statusCode, 200, before.body)
    assert.equal(json(before).dependencies.redis.status, 'up')
    // The subscriber connection too: one still in its handshake when Redis stalls is reported
    // down from its state, with no PING (a busy host can get here before it is ready).
    await waitFor(async () => {
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
      return json(ready).dependencies.event_bus.status === 'up'
    }, 'the event bus subscriber to be ready')

    redis.stall()
    // The probe's PING has no answer, and readiness does not wait for one: Redis down, the node
    // still ready (the database is what it cannot serve without).
    const first = await t.app.inject({ method: 'GET', url: '/health/ready' })
    assert.equal(first.statusCode, 200, first.body)
    assert.equal(json(first).status, 'degraded', first.body)
    assert.equal(json(first).dependencies.redis.status, 'down')
    assert.equal(json(first).dependencies.redis.critical, false)
    assert.equal(json(first).dependencies.database.status, 'up')
    // Probes while that PING is out share it: no second PING, however many ask.
    const more = await Promise.all(
      Array.from({ length: 5 }, () => t.app.inject({ method: 'GET', url: '/health/ready' })),
    )
    for (const res of more) {
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).dependencies.redis.status, 'down', res.body)
    }
    const direct = await t.app.platform.health.run()
    assert.equal(direct.redis!.status, 'down')
    assert.match(direct.redis!.details ?? '', /^no answer within \d+ ms \(a check is running\)$/)
    // One per check, each shared by every probe: `redis`'s, and `event_bus`'s on the subscriber
    // connection (QA 30).
    assert.equal(redis.pingsSinceStall(), 2, 'one PING in flight per check for every probe')

    // And closing does not wait out every shutdown step's command timeout on it.
    await guard(t.close(), 'app.close() with Redis stalled')
    closed = true
  })

  it('SIGTERM: the server exits 0 and keeps every acknowledged action', async () => {
    const redis = await stallableRedis(REDIS_URL!)
    cleanup.push(() => redis.close())
    const env: Record<string, string> = { REDIS_URL: redis.url }
    if (process.env.DATABASE_URL) {
      const db = await freshPostgres()
      cleanup.push(db.drop)
      env.DATABASE_URL = db.url
    }
    const server = await startServerProcess(env)
    cleanup.push(() => server.child.kill('SIGKILL'))
    const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init)
    const slug = `outage-${Date.now().toString(36)}`
    const created = await api('/api/campaign', {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ slug, title: 'Outage', metadata: { features: ['analytics'] } }),
    })
    assert.equal(created.status, 201, await created.text())
    const { token } = (await (await api('/api/session', { method: 'POST' })).json()) as { token: string }
    const update = (id: string) =>
      api(`/api/${slug}/update`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'content.create', request_id: id, data: { id } }),
      })

    redis.stall()
    // Acknowledged while Redis answers nothing: REST works on the database alone.
    const ids = Array.from({ length: 10 }, (_, n) => `stalled-${n}`)
    const answers = await Promise.all(ids.map((id) => update(id)))
    const acked = ids.filter((_, n) => answers[n]!.status === 200)
    assert.equal(acked.length, ids.length, 'every update acknowledged')

    server.child.kill('SIGTERM')
    const code = await guard(server.exited, 'shutdown with Redis stalled')
    assert.equal(code, 0, server.output())

    // The acknowledged actions were committed: a repeat replays each, on a server with Redis.
    const next = await startServerProcess({
      ...(env.DATABASE_URL ? { DATABASE_URL: env.DATABASE_URL } : { DATA_DIR: server.dataDir }),
      REDIS_URL: REDIS_URL!,
    })
    cleanup.push(() => next.child.kill('SIGKILL'))
    for (const id of acked) {
      const res = await fetch(`${next.url}/api/${slug}/update`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'content.create', request_id: id, data: { id } }),
      })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('idempotent-replayed'), 'true', `acknowledged ${id} was lost`)
    }
    next.child.kill('SIGTERM')
    assert.equal(await guard(next.exited, 'shutdown with Redis up'), 0, next.output())
  })
})
