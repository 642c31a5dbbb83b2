import type { Redis } from 'ioredis'

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
 * submissions per IP…), separate from the global per-IP HTTP limit. With Redis every node shares
 * the counts; without it they live in this process, which is right for a single node.
 */
export interface RateLimiter {
  /** Count one attempt under `key`; refused once more than `limit` attempts fall in `windowMs`. */
  consume(key: string, limit: number, windowMs: number): Promise<RateLimitResult>
  /** Forget `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>
}

const PREFIX = 'ovasabi:limit:'

// INCR and set the expiry on the first hit, atomically, so a crash between the two cannot leave a
// counter that never expires.
const CONSUME_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`

function result(count: number, limit: number, msLeft: number): RateLimitResult {
  const allowed = count <= limit
  return { allowed, count, retryAfter: allowed ? 0 : Math.max(1, Math.ceil(msLeft / 1000)) }
}

export function createRateLimiter(options: { redis?: Redis } = {}): RateLimiter {
  const { redis } = options
  if (redis) {
    return {
      async consume(key, limit, windowMs) {
        const [count, ttl] = (await redis.eval(CONSUME_SCRIPT, 1, PREFIX + key, String(windowMs))) as [
          number,
          number,
        ]
        return result(Number(count), limit, Number(ttl))
      },
      async reset(key) {
        await redis.del(PREFIX + key)
      },
    }
  }

  const windows = new Map<string, { count: number; resetAt: number }>()
  let lastSweep = Date.now()
  // Expired windows are dropped now and then, so the map stays as large as the live keys.
  function sweep(now: number) {
    if (now - lastSweep < 60_000 && windows.size < 100_000) return
    lastSweep = now
    for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k)
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
    async reset(key) {
      windows.delete(key)
    },
  }
}
