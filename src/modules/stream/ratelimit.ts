import type { Redis } from 'ioredis'

export interface RateDecision {
  limit: number
  remaining: number
  /** Seconds since the epoch when the window resets. */
  reset: number
  allowed: boolean
  retryAfter: number
}

/** Fixed one-minute windows: memory on one node, Redis (INCR + PEXPIRE) shared by all nodes. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs?: number): Promise<RateDecision>
}

function decide(count: number, limit: number, resetMs: number): RateDecision {
  const now = Date.now()
  return {
    limit,
    remaining: Math.max(0, limit - count),
    reset: Math.ceil(resetMs / 1000),
    allowed: count <= limit,
    retryAfter: Math.max(1, Math.ceil((resetMs - now) / 1000)),
  }
}

export function createMemoryRateLimiter(): RateLimiter {
  const windows = new Map<string, { count: number; resetMs: number }>()
  let sweep = Date.now()
  return {
    async hit(key, limit, windowMs = 60_000) {
      const now = Date.now()
      if (now - sweep > windowMs) {
        for (const [k, w] of windows) if (w.resetMs <= now) windows.delete(k)
        sweep = now
      }
      let w = windows.get(key)
      if (!w || w.resetMs <= now) {
        w = { count: 0, resetMs: Math.floor(now / windowMs) * windowMs + windowMs }
        windows.set(key, w)
      }
      w.count++
      return decide(w.count, limit, w.resetMs)
    },
  }
}

/** How long the Redis limiter stays on its in-process fallback after Redis failed. */
const FALLBACK_MS = 5000

/**
 * Shared by every node through Redis. When Redis fails (down, or not answering within the
 * client's command timeout) the decision comes from an in-process limiter instead, for a few
 * seconds before Redis is tried again: each node then counts on its own, so limits still hold per
 * node (login guesses included) rather than every `/api/v1` request failing with a 500.
 */
export function createRedisRateLimiter(
  redis: Redis,
  options: { prefix?: string; onError?: (err: unknown) => void } = {},
): RateLimiter {
  const prefix = options.prefix ?? 'ovasabi:ss:rl:'
  const fallback = createMemoryRateLimiter()
  let downUntil = 0
  return {
    async hit(key, limit, windowMs = 60_000) {
      if (Date.now() < downUntil) return fallback.hit(key, limit, windowMs)
      // Windows are aligned to the clock, so every node agrees on when one ends.
      const resetMs = Math.floor(Date.now() / windowMs) * windowMs + windowMs
      const redisKey = `${prefix}${key}:${resetMs}`
      try {
        const [[err, count]] = (await redis
          .multi()
          .incr(redisKey)
          .pexpire(redisKey, windowMs + 1000)
          .exec()) as [[Error | null, number], unknown]
        if (err) throw err
        return decide(Number(count), limit, resetMs)
      } catch (err) {
        downUntil = Date.now() + FALLBACK_MS
        options.onError?.(err)
        return fallback.hit(key, limit, windowMs)
      }
    },
  }
}
