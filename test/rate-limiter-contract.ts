// What every rate limiter (in memory, on Redis, or on its own while Redis is down) does.
import assert from 'node:assert/strict'
import type { RateLimiter } from '../src/platform/http/rate-limiter.js'

/**
 * Three attempts at key `k` in a minute pass and the fourth is refused with the time left;
 * another key is counted apart, and `reset` frees `k` again.
 */
export async function assertLimitsPerKey(limiter: RateLimiter): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await limiter.consume('k', 3, 60_000)).allowed, true)
  const refused = await limiter.consume('k', 3, 60_000)
  assert.equal(refused.allowed, false)
  assert.ok(refused.retryAfter > 0 && refused.retryAfter <= 60)
  assert.equal((await limiter.consume('other', 3, 60_000)).allowed, true)
  await limiter.reset('k')
  assert.equal((await limiter.consume('k', 3, 60_000)).allowed, true)
}
