/**
 * The inbound token bucket of one socket, shared by `/ws` (realtime/connection.ts) and `/cable`
 * (modules/stream/cable/inbound.ts): `rate` tokens a second, holding up to two seconds' worth.
 * Plain functions over two plain fields, so a socket keeps them as its own fields (no object, no
 * timer per socket) and an idle connection costs nothing for it.
 */
export interface TokenBucket {
  /** Tokens held now (fractional between refills). */
  tokens: number
  /** When `tokens` was last refilled (ms since the epoch). */
  lastRefill: number
}

/** The capacity of a bucket of `rate` a second: two seconds' worth. */
export function burstOf(rate: number): number {
  return rate * 2
}

/** Refills `bucket` for the time since its last refill, then takes a token; false: none (drop). */
export function takeToken(bucket: TokenBucket, rate: number, now: number): boolean {
  const elapsed = now - bucket.lastRefill
  if (elapsed > 0) {
    bucket.tokens = Math.min(burstOf(rate), bucket.tokens + (elapsed * rate) / 1000)
    bucket.lastRefill = now
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1
    return true
  }
  return false
}

/** Milliseconds until `bucket` holds a token again (as of its last `takeToken`). */
export function msUntilToken(bucket: TokenBucket, rate: number): number {
  return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) * 1000) / rate)
}
