// Campaign live stream viewers across nodes (QA pass 29e): each node's report was stamped "fresh
// until" by its own clock and read against the reader's, and the reader deleted what looked stale
// to it. Two machines whose clocks differ by more than the freshness (3 s) then dropped each other's
// viewers from the total and deleted the other's report every second. Freshness is now Redis's
// clock, read and pruned in one step.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisViewerCounter } from '../src/modules/stream/live.viewers.js'
import { REDIS_URL } from './helper.js'

describe('campaign live stream viewers counted by nodes whose clocks differ', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  let redis: Redis
  const prefix = `ovasabi:test:${randomBytes(6).toString('hex')}:`
  before(() => {
    redis = new Redis(REDIS_URL!)
  })
  after(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  })

  /** Runs `work` as on a machine whose clock is `skewMs` ahead of this one. */
  async function onClock<T>(skewMs: number, work: () => Promise<T>): Promise<T> {
    const real = Date.now.bind(Date)
    const skewed = mock.method(Date, 'now', () => real() + skewMs)
    try {
      return await work()
    } finally {
      skewed.mock.restore()
    }
  }

  for (const skew of [10_000, -10_000]) {
    it(`the total is the same on both nodes with a clock ${skew > 0 ? 'ahead' : 'behind'} by 10 s`, async () => {
      const a = createRedisViewerCounter(redis, 'node_a', prefix)
      const b = createRedisViewerCounter(redis, 'node_b', prefix)
      const id = skew > 0 ? 1 : 2
      await a.report(id, 1)
      await onClock(skew, () => b.report(id, 2))
      assert.equal(await onClock(skew, () => b.total(id)), 3, "node B counts node A's viewer")
      assert.equal(await a.total(id), 3, "node A counts node B's viewers")
      // Neither read took the other's report away.
      assert.equal(await onClock(skew, () => b.total(id)), 3)
      assert.deepEqual(Object.keys(await redis.hgetall(`${prefix}viewers:${id}`)).sort(), [
        'node_a',
        'node_b',
      ])
    })
  }

  it('a report nobody renewed still drops out of the total', async () => {
    const a = createRedisViewerCounter(redis, 'node_a', prefix)
    const gone = createRedisViewerCounter(redis, 'node_gone', prefix)
    await a.report(3, 4)
    await gone.report(3, 5)
    assert.equal(await a.total(3), 9)
    // The crashed node's report, as it stands once its freshness has passed.
    const [count] = (await redis.hget(`${prefix}viewers:3`, 'node_gone'))!.split(':')
    await redis.hset(`${prefix}viewers:3`, 'node_gone', `${count}:1`)
    assert.equal(await a.total(3), 4)
    assert.equal(await redis.hexists(`${prefix}viewers:3`, 'node_gone'), 0, 'the stale report is removed')
  })
})
