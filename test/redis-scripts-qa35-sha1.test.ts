// Redis scripts by SHA1 (QA pass 35). The realtime history (every campaign event), the rate
// limiter (every counted attempt) and the cable's cell locks sent each script's whole text with
// every call (EVAL). They now go as the stream chat's did since QA 34 (platform/redis-script.ts):
// the text once per connection, then EVALSHA. The history's publish names as many keys as the
// event has subjects: each call sends its count, and every key still gets the client's prefix.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisCollabStore } from '../src/modules/stream/cable/collab.store.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { createRedisHistory } from '../src/realtime/history-redis.js'
import { REDIS_URL, uniqueSlug } from './helper.js'
import { watchRedis } from './redis-monitor.js'

/** A client under a prefix no other run uses, MONITOR on it, and the commands it sent to end with. */
async function watchedClient(tag: string) {
  const prefix = `${uniqueSlug(`qa35_${tag}`)}:`
  const redis = new Redis(REDIS_URL!, { keyPrefix: prefix })
  const watched = await watchRedis(prefix)
  return {
    prefix,
    redis,
    watched,
    /** What the client sent so far, in order (waits for MONITOR to have seen all of it). */
    async sent() {
      await redis.exists('marker')
      await watched.until(`${prefix}marker`)
      return watched.sent().slice(0, -1)
    },
    async close() {
      redis.disconnect()
      watched.close()
      const plain = new Redis(REDIS_URL!)
      const keys = await plain.keys(`${prefix}*`)
      if (keys.length > 0) await plain.del(...keys)
      plain.disconnect()
    },
  }
}

describe('Redis scripts go by their SHA1, their text once per connection', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  it('the realtime history: publish (keys for each subject) and forget', async () => {
    const c = await watchedClient('history')
    try {
      const history = createRedisHistory(c.redis, { size: 100, maxAgeMs: 60_000 })
      const ids: number[] = []
      for (const subjects of [['user_a'], ['user_a', 'ann@example.com'], []]) {
        const frame = { type: 'campaign_event', action: 'lead.captured', data: { n: ids.length } }
        ids.push(
          await history.publish(
            'rt:c1',
            'c1',
            { audience: { scope: 'campaign', campaign: 'c1' }, frame },
            subjects,
          ),
        )
      }
      assert.deepEqual(ids, [1, 2, 3])
      assert.equal(await history.forget(['user_a']), 2)
      const sent = await c.sent()
      assert.deepEqual(sent.slice(0, 3), [
        'eval ovasabi:rt:seq:c1',
        'evalsha ovasabi:rt:seq:c1',
        'evalsha ovasabi:rt:seq:c1',
      ])
      assert.ok(sent.includes('eval ovasabi:rt:h:c1'), `forget's script ran: ${sent.join(', ')}`)
      // Every key of the call with two subjects carries the prefix, its count before them.
      const second = c.watched.seen.filter((s) => s.source !== 'lua')[1]!.args
      assert.equal(second[2], '4', 'seq, list and two subjects')
      for (const key of second.slice(3, 7)) assert.ok(key.startsWith(c.prefix), key)
      const replay = await history.since('c1', 0)
      assert.ok('events' in replay, 'no resync')
      const kept = replay.events
      assert.equal(kept.length, 1, 'the two messages naming user_a are replayed to no one')
      assert.equal(kept[0]!.frame.id, 3)
    } finally {
      await c.close()
    }
  })

  it('the rate limiter: consume, peek and release', async () => {
    const c = await watchedClient('limit')
    try {
      const limiter = createRateLimiter({ redis: c.redis, prefix: 'lim:' })
      const counts: number[] = []
      for (let i = 0; i < 3; i++) counts.push((await limiter.consume('k', 2, 60_000)).count)
      assert.deepEqual(counts, [1, 2, 3])
      assert.equal((await limiter.peek('k', 2, 60_000)).allowed, false)
      await limiter.release('k')
      await limiter.release('k')
      assert.equal((await limiter.peek('k', 2, 60_000)).allowed, true)
      assert.deepEqual(await c.sent(), [
        'eval lim:k',
        'evalsha lim:k',
        'evalsha lim:k',
        'eval lim:k',
        'eval lim:k',
        'evalsha lim:k',
        'evalsha lim:k',
      ])
    } finally {
      await c.close()
    }
  })

  it("the cable's cell locks: take, renew and give back", async () => {
    const c = await watchedClient('cable')
    try {
      const store = createRedisCollabStore(c.redis, 'cab:')
      assert.ok(await store.lock('cell1', 'ann', 30_000))
      assert.ok(await store.lock('cell1', 'ann', 30_000), 'renewed by its holder')
      assert.equal(await store.lock('cell1', 'bob', 30_000), undefined, 'held by another')
      assert.equal(await store.unlock('cell1', 'bob'), false)
      assert.equal(await store.unlock('cell1', 'ann'), true)
      assert.equal(await store.holder('cell1'), undefined)
      assert.deepEqual(await c.sent(), [
        'eval cab:lock:cell1',
        'evalsha cab:lock:cell1',
        'evalsha cab:lock:cell1',
        'eval cab:lock:cell1',
        'evalsha cab:lock:cell1',
        'get cab:lock:cell1',
      ])
    } finally {
      await c.close()
    }
  })
})
