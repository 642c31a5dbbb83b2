import type { Redis } from 'ioredis'

export interface RateDecision {
  allowed: boolean
  /** Seconds until the window resets (0 when allowed). */
  retryAfterSeconds: number
}

/**
 * Fixed-window counters keyed by the caller (`quote:{campaign}:{ip}`…). In memory for one
 * process; in Redis when several nodes must share the count.
 */
export interface RateLimiter {
  consume(key: string, limit: number, windowMs: number): Promise<RateDecision>
}

export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>()
  let nextSweep = 0
  return {
    async consume(key, limit, windowMs) {
      const t = now()
      if (t >= nextSweep) {
        // Expired windows are dropped lazily, so an IP that never returns costs nothing for long.
        for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k)
        nextSweep = t + 60_000
      }
      let w = windows.get(key)
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + windowMs }
        windows.set(key, w)
      }
      w.count++
      if (w.count <= limit) return { allowed: true, retryAfterSeconds: 0 }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - t) / 1000)) }
    },
  }
}

// INCR and the first PEXPIRE in one step, so a crash between them never leaves a key without TTL.
const CONSUME = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {count, ttl}`

export function createRedisRateLimiter(redis: Redis, prefix = 'ovasabi:rl:'): RateLimiter {
  return {
    async consume(key, limit, windowMs) {
      const [count, ttl] = (await redis.eval(CONSUME, 1, prefix + key, String(windowMs))) as [number, number]
      if (count <= limit) return { allowed: true, retryAfterSeconds: 0 }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) }
    },
  }
}

/** Redis when the platform has it (counts shared by every node), memory otherwise. */
export function createRateLimiter(redis?: Redis): RateLimiter {
  return redis ? createRedisRateLimiter(redis) : createMemoryRateLimiter()
}
