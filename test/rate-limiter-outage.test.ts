// The shared rate limiter during a Redis outage: no request waits on a Redis that cannot answer,
// beyond the one that finds out and, every few seconds, the one that asks again.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { REDIS_COMMAND_TIMEOUT_MS } from '../src/platform/redis.js'
import { REDIS_URL } from './helper.js'
import { redisProxy } from './redis-proxy.js'

/** Counts the limiter's commands (its scripts, EVAL or EVALSHA) that reach the client. */
function counted(client: Redis) {
  const calls = { n: 0 }
  const send = client.sendCommand.bind(client)
  client.sendCommand = (command, ...rest) => {
    if (/^eval/i.test(command.name)) calls.n++
    return send(command, ...rest)
  }
  return calls
}

describe('the shared rate limiter while Redis cannot answer', {
  skip: !REDIS_URL && 'REDIS_URL not set',
}, () => {
  const clients: Redis[] = []
  after(() => {
    for (const c of clients) c.disconnect()
  })
  const client = async (url: string) => {
    const c = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    })
    c.on('error', () => {})
    clients.push(c)
    await c.connect()
    return c
  }

  it('sends nothing to a client that is not connected, and limits here', async () => {
    const redis = await client(REDIS_URL!)
    const calls = counted(redis)
    const outages: unknown[] = []
    const limiter = createRateLimiter({
      redis,
      onFallback: (err) => outages.push(err),
      prefix: `t:${Date.now()}:`,
    })
    assert.equal((await limiter.consume('k', 2, 60_000)).allowed, true)
    assert.equal(calls.n, 1, 'connected: asked Redis')
    const ended = new Promise((resolve) => redis.once('end', resolve))
    redis.disconnect()
    await ended
    const answers = await Promise.all(Array.from({ length: 5 }, () => limiter.consume('k2', 2, 60_000)))
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, true, false, false, false],
    )
    assert.equal(calls.n, 1, 'nothing sent while disconnected')
    assert.equal(outages.length, 1)
  })

  it('lets one request ask a stalled Redis again while the others count here', async () => {
    const proxy = await redisProxy(REDIS_URL!)
    try {
      const redis = await client(proxy.url)
      const calls = counted(redis)
      // Retry at once: each request after the failure would ask again, were it not for the probe.
      const limiter = createRateLimiter({ redis, retryMs: 0, prefix: `t:${Date.now()}:` })
      proxy.stall()
      // The first request finds out (it waits out the command timeout), then counts here.
      assert.equal((await limiter.consume('k', 100, 60_000)).allowed, true)
      assert.equal(calls.n, 1)
      // Twenty at once: one asks Redis (and waits out the timeout), nineteen are answered here.
      const answers = await Promise.all(Array.from({ length: 20 }, () => limiter.consume('k', 100, 60_000)))
      assert.ok(answers.every((a) => a.allowed))
      assert.equal(calls.n, 2, 'one probe, not twenty')
      assert.equal(Math.max(...answers.map((a) => a.count)), 21, 'every one counted here')
    } finally {
      proxy.cut()
    }
  })
})
