import type { Redis } from 'ioredis'
import { redisScript } from '../redis-script.js'

/** The outcome of one attempt against a limit. */
export interface RateLimitResult {
  allowed: boolean
  /** Seconds until the current window ends (0 when allowed). */
  retryAfter: number
  /** Attempts counted in the current window, this one included. */
  count: number
}

/**
 * Fixed-window attempt counter for business rules (login attempts per IP and per email, lead
 * submissions per IP…), separate from the global per-IP HTTP limit, and under the StreamSource
 * `/api/v1` tiers (`modules/stream/ratelimit.ts`). With Redis every node shares the counts (and
 * counts alone while Redis is down); without it they live in this process, which is right for a
 * single node.
 */
export interface RateLimiter {
  /** Count one attempt under `key`; refused once more than `limit` attempts fall in `windowMs`. */
  consume(key: string, limit: number, windowMs: number): Promise<RateLimitResult>
  /** What `consume` would answer now, counting nothing (a dry run, e.g. a probe). */
  peek(key: string, limit: number, windowMs: number): Promise<RateLimitResult>
  /** Forget `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>
  /**
   * Take back one attempt counted under `key` (never below none): one counted before its outcome
   * was known that turned out not to be one the limit is for. `endsBy` (ms since the epoch: when
   * it was counted plus `windowMs`) keeps it to the window it was counted in: a window opened
   * since ends later, and keeps its count.
   */
  release(key: string, endsBy?: number): Promise<void>
}

const PREFIX = 'ovasabi:limit:'

// INCR and set the expiry on the first hit, atomically, so a crash between the two cannot leave a
// counter that never expires.
const CONSUME_SCRIPT = redisScript(
  1,
  `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`,
)

const PEEK_SCRIPT = redisScript(
  1,
  `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return {n, redis.call('PTTL', KEYS[1])}
`,
)

// DECR only a live counter above zero that ends within ARGV[1] ms: a window that ended stays gone
// (DECR would recreate it without an expiry), a later one keeps its count, none goes below zero.
const RELEASE_SCRIPT = redisScript(
  1,
  `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if n > 0 and ttl > 0 and ttl <= tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) end
return 0
`,
)
/** Leeway for the clocks of this node and Redis, and the round trips, when matching a window's end. */
const RELEASE_SLACK_MS = 250

function result(count: number, limit: number, msLeft: number): RateLimitResult {
  const allowed = count <= limit
  return { allowed, count, retryAfter: allowed ? 0 : Math.max(1, Math.ceil(msLeft / 1000)) }
}

/** ioredis states of a client that had a connection and lost it. */
const LOST = new Set(['close', 'reconnecting', 'end'])

/** How long the shared limiter counts on its own after Redis failed, before asking Redis again. */
const FALLBACK_MS = 5000

/**
 * With Redis every node shares the counts. When Redis fails (down, or not answering within the
 * client's command timeout) the counting goes on in this process, Redis being asked again every
 * few seconds: limits then hold per node (login guesses included) instead of every limited
 * request failing with a 500, and are never lifted. `onFallback` hears of each outage once.
 * Requests never queue behind an outage: while the client is not connected nothing is sent, and
 * once the few seconds pass one request asks Redis while the others go on counting here (else
 * every request arriving in that moment waited out the command timeout).
 */
export function createRateLimiter(
  options: {
    redis?: Redis
    onFallback?: (err: unknown) => void
    /** Redis key prefix (default `ovasabi:limit:`), so callers' keys cannot meet. */
    prefix?: string
    /** How long to count here after Redis failed before asking it again (default 5 s). */
    retryMs?: number
  } = {},
): RateLimiter {
  const memory = createMemoryRateLimiter()
  const { redis, prefix = PREFIX, retryMs = FALLBACK_MS } = options
  if (!redis) return memory
  let downUntil = 0
  let down = false
  let probing = false
  const fail = (err: unknown) => {
    downUntil = Date.now() + retryMs
    if (down) return
    down = true
    options.onFallback?.(err)
  }
  /** Whether to ask Redis now; when not, the caller counts in memory. */
  const useRedis = () => {
    // A client still making its first connection queues the command (ioredis' offline queue);
    // one that lost its connection, or is trying again after an outage, cannot answer now.
    if (LOST.has(redis.status) || (down && redis.status !== 'ready')) {
      fail(new Error(`Redis is not connected (${redis.status})`))
      return false
    }
    return !(down && (Date.now() < downUntil || probing))
  }
  /** Runs a Redis command; while Redis is down, only one at a time probes it. */
  async function ask<T>(command: () => Promise<T>): Promise<T> {
    const probe = down
    if (probe) probing = true
    try {
      const value = await command()
      down = false
      return value
    } finally {
      if (probe) probing = false
    }
  }
  return {
    async consume(key, limit, windowMs) {
      if (!useRedis()) return memory.consume(key, limit, windowMs)
      try {
        const [count, ttl] = (await ask(() => CONSUME_SCRIPT.run(redis, [prefix + key], [windowMs]))) as [
          number,
          number,
        ]
        return result(Number(count), limit, Number(ttl))
      } catch (err) {
        fail(err)
        return memory.consume(key, limit, windowMs)
      }
    },
    async peek(key, limit, windowMs) {
      if (!useRedis()) return memory.peek(key, limit, windowMs)
      try {
        const [count, ttl] = (await ask(() => PEEK_SCRIPT.run(redis, [prefix + key], []))) as [number, number]
        // No key (or one without an expiry, which `consume` would give one): a fresh window.
        return result(Number(count) + 1, limit, Number(ttl) < 0 ? windowMs : Number(ttl))
      } catch (err) {
        fail(err)
        return memory.peek(key, limit, windowMs)
      }
    },
    async reset(key) {
      await memory.reset(key)
      if (!useRedis()) return
      try {
        await ask(() => redis.del(prefix + key))
      } catch (err) {
        fail(err)
      }
    },
    async release(key, endsBy) {
      // Both, as `reset` does: the attempt may have been counted here while Redis was down.
      await memory.release(key, endsBy)
      if (!useRedis()) return
      const within = endsBy === undefined ? Number.MAX_SAFE_INTEGER : endsBy - Date.now() + RELEASE_SLACK_MS
      if (within <= 0) return
      try {
        await ask(() => RELEASE_SCRIPT.run(redis, [prefix + key], [within]))
      } catch (err) {
        fail(err)
      }
    },
  }
}

/** Windows held before the map is swept ahead of its minute. */
const SWEEP_SIZE = 100_000

/** This process's own counts: a single node's limiter, and the shared one's fallback. */
function createMemoryRateLimiter(): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>()
  let lastSweep = Date.now()
  let sweepAtSize = SWEEP_SIZE
  // Expired windows are dropped now and then, so the map stays as large as the live keys. A sweep
  // that leaves many live ones (keys of guessed emails from many networks, in 15-minute windows)
  // moves the next early one to twice their number: else every call walked the whole map.
  function sweep(now: number) {
    if (now - lastSweep < 60_000 && windows.size < sweepAtSize) return
    lastSweep = now
    for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k)
    sweepAtSize = Math.max(SWEEP_SIZE, windows.size * 2)
  }
  return {
    async consume(key, limit, windowMs) {
      const now = Date.now()
      sweep(now)
      let w = windows.get(key)
      if (!w || w.resetAt <= now) {
        w = { count: 0, resetAt: now + windowMs }
        windows.set(key, w)
      }
      w.count++
      return result(w.count, limit, w.resetAt - now)
    },
    async peek(key, limit, windowMs) {
      const now = Date.now()
      const w = windows.get(key)
      if (!w || w.resetAt <= now) return result(1, limit, windowMs)
      return result(w.count + 1, limit, w.resetAt - now)
    },
    async reset(key) {
      windows.delete(key)
    },
    async release(key, endsBy = Number.POSITIVE_INFINITY) {
      const w = windows.get(key)
      if (w && w.resetAt > Date.now() && w.resetAt <= endsBy && w.count > 0) w.count--
    },
  }
}
