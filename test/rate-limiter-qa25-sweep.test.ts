import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'

const LIVE = 100_000

/**
 * The in-process limiter (a single node's, and the shared one's fallback) drops expired windows
 * now and then. Keys come from clients (a login's email, from any network): once 100 000 live
 * windows were held, every call walked all of them, and each login cost the node a pass over the
 * whole map.
 */
describe('in-process rate limiter with many live windows', () => {
  it('does not walk the whole map on every call', async () => {
    const limiter = createRateLimiter()
    for (let i = 0; i < LIVE; i++) await limiter.consume(`login:email:${i}`, 5, 3_600_000)
    // Counted: passes over a map holding at least the live windows (the limiter's own).
    const iterate = Map.prototype[Symbol.iterator]
    let passes = 0
    Map.prototype[Symbol.iterator] = function (this: Map<unknown, unknown>) {
      if (this.size >= LIVE) passes++
      return iterate.call(this)
    }
    try {
      for (let i = 0; i < 1000; i++) {
        const r = await limiter.consume(`login:email:more-${i}`, 5, 3_600_000)
        assert.equal(r.allowed, true)
      }
    } finally {
      Map.prototype[Symbol.iterator] = iterate
    }
    assert.ok(passes <= 1, `${passes} passes over the map for 1000 calls`)
    // The windows are all still counted: nothing live was dropped.
    const again = await limiter.consume('login:email:7', 1, 3_600_000)
    assert.equal(again.count, 2)
    assert.equal(again.allowed, false)
  })
})
