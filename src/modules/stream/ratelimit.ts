import type { Redis } from 'ioredis'
import { createRateLimiter, type RateLimiter as Counter } from '../../platform/http/rate-limiter.js'

export interface RateDecision {
  limit: number
  remaining: number
  /** Seconds since the epoch when the window resets. */
  reset: number
  allowed: boolean
  retryAfter: number
}

/** Fixed windows aligned to the clock (one minute unless told), for the `/api/v1` tiers and headers. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs?: number): Promise<RateDecision>
  /** Forgets the current window's count under `key` (a login that succeeded clears its guesses). */
  reset(key: string, windowMs?: number): Promise<void>
  /**
   * Takes back the attempt `decision` counted under `key`, in the window it was counted in: named
   * by its end, so a refund arriving after that window ended is lost rather than given to the next.
   */
  refund(key: string, decision: RateDecision): Promise<void>
}

/**
 * The StreamSource tiers on the platform's counter (`platform/http/rate-limiter.ts`), which owns
 * the counting: in Redis, shared by every node, or in this process, alone or while Redis fails.
 * Windows are aligned to the clock, so every node agrees on when one ends and can send it as
 * `X-RateLimit-Reset`: each window is its own counter, named by its end.
 */
function clockWindows(counter: Counter): RateLimiter {
  return {
    async hit(key, limit, windowMs = 60_000) {
      const resetMs = windowEnd(windowMs)
      const { count } = await counter.consume(`${key}:${resetMs}`, limit, windowMs)
      return {
        limit,
        remaining: Math.max(0, limit - count),
        reset: Math.ceil(resetMs / 1000),
        allowed: count <= limit,
        retryAfter: Math.max(1, Math.ceil((resetMs - Date.now()) / 1000)),
      }
    },
    async reset(key, windowMs = 60_000) {
      await counter.reset(`${key}:${windowEnd(windowMs)}`)
    },
    async refund(key, decision) {
      // `reset` is the window's end in whole seconds, and window ends are whole seconds.
      await counter.release(`${key}:${decision.reset * 1000}`)
    },
  }
}

/** When the clock-aligned window of `windowMs` now in progress ends (ms since the epoch). */
const windowEnd = (windowMs: number) => Math.floor(Date.now() / windowMs) * windowMs + windowMs

/** One node's counts. */
export function createMemoryRateLimiter(): RateLimiter {
  return clockWindows(createRateLimiter())
}

/**
 * Shared by every node through Redis. While Redis fails (down, or not answering within the
 * client's command timeout) each node counts on its own, asking Redis again every 5 s, so limits
 * still hold per node (login guesses included) rather than every `/api/v1` request failing with a
 * 500. `onError` hears of each outage once.
 */
export function createRedisRateLimiter(
  redis: Redis,
  options: { prefix?: string; onError?: (err: unknown) => void } = {},
): RateLimiter {
  return clockWindows(
    createRateLimiter({ redis, prefix: options.prefix ?? 'ovasabi:ss:rl:', onFallback: options.onError }),
  )
}
