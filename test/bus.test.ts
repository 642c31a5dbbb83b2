import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import type { EventBus } from '../src/platform/bus/bus.js'
import { createMemoryBus } from '../src/platform/bus/memory.js'
import { createRedisBus } from '../src/platform/bus/redis.js'
import { createRedis } from '../src/platform/redis.js'
import { REDIS_URL } from './helper.js'

async function until(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** The contract every bus adapter keeps; runs on memory and on Redis. */
function contract(
  name: string,
  make: () => Promise<{ a: EventBus; b: EventBus; close: () => Promise<void> }>,
) {
  describe(`EventBus contract (${name})`, () => {
    let a: EventBus
    let b: EventBus
    let close: () => Promise<void>
    before(async () => {
      ;({ a, b, close } = await make())
    })
    after(() => close())
    const channel = () => `test:${randomBytes(4).toString('hex')}`

    it('delivers a published message to every subscriber exactly once, as a JSON copy', async () => {
      const ch = channel()
      const gotA: unknown[] = []
      const gotB: unknown[] = []
      const offA = await a.subscribe(ch, (m) => gotA.push(m))
      const offB = await b.subscribe(ch, (m) => gotB.push(m))
      const message = { n: 1, when: new Date(0), nested: { list: [1, 2] } }
      await a.publish(ch, message)
      await until(() => gotA.length === 1 && gotB.length === 1)
      await new Promise((r) => setTimeout(r, 50))
      assert.equal(gotA.length, 1)
      assert.equal(gotB.length, 1)
      assert.deepEqual(gotA[0], { n: 1, when: '1970-01-01T00:00:00.000Z', nested: { list: [1, 2] } })
      assert.notEqual(gotA[0], message)
      await offA()
      await offB()
    })

    it('keeps order per publisher and channel', async () => {
      const ch = channel()
      const got: number[] = []
      const off = await b.subscribe(ch, (m) => got.push(m as number))
      for (let i = 0; i < 200; i++) await a.publish(ch, i)
      await until(() => got.length === 200)
      assert.deepEqual(
        got,
        Array.from({ length: 200 }, (_, i) => i),
      )
      await off()
    })

    it('stops delivering after unsubscribe and isolates a throwing handler', async () => {
      const ch = channel()
      const got: unknown[] = []
      const offBad = await b.subscribe(ch, () => {
        throw new Error('boom')
      })
      const off = await b.subscribe(ch, (m) => got.push(m))
      await a.publish(ch, 'one')
      await until(() => got.length === 1)
      await off()
      await offBad()
      await a.publish(ch, 'two')
      await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(got, ['one'])
    })

    it('does not deliver other channels', async () => {
      const got: unknown[] = []
      const off = await b.subscribe(channel(), (m) => got.push(m))
      await a.publish(channel(), 'x')
      await new Promise((r) => setTimeout(r, 50))
      assert.equal(got.length, 0)
      await off()
    })
  })
}

contract('memory', async () => {
  const bus = createMemoryBus()
  return { a: bus, b: bus, close: () => bus.close() }
})

const redisUrl = REDIS_URL
if (redisUrl) {
  contract('redis, two nodes', async () => {
    const clients: Redis[] = [await createRedis(redisUrl), await createRedis(redisUrl)]
    const a = createRedisBus(clients[0]!)
    const b = createRedisBus(clients[1]!)
    return {
      a,
      b,
      close: async () => {
        await a.close()
        await b.close()
        for (const c of clients) await c.quit()
      },
    }
  })
}

describe('Redis bus: a subscription Redis refused', () => {
  it('is not remembered: the next subscribe to the channel asks Redis again', async () => {
    // Nothing listens on port 1 and the client neither queues nor retries: every SUBSCRIBE fails.
    const { Redis } = await import('ioredis')
    const client = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    const bus = createRedisBus(client)
    try {
      await assert.rejects(bus.subscribe('test:refused', () => {}))
      // Before, the first handler stayed registered, so this resolved without a SUBSCRIBE sent.
      await assert.rejects(bus.subscribe('test:refused', () => {}))
    } finally {
      await bus.close()
      client.disconnect()
    }
  })
})
