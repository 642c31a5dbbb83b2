import type { LookupFunction } from 'node:net'
import { Pool } from 'undici'
import type { ResolvedTarget } from './target-guard.js'

export interface SendResult {
  /** Undefined when no response arrived (network error or timeout). */
  status?: number
  /** The receiver's `Retry-After`, ms from now (0 for a date past): a floor the worker may raise. */
  retryAfterMs?: number
  error?: string
  durationMs: number
}

export interface Sender {
  /** POST one signed body; never throws (a failure is a result with `error`). */
  send(
    target: ResolvedTarget,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<SendResult>
  /** Closes every kept-alive connection. */
  close(): Promise<void>
}

const MAX_RESPONSE_BYTES = 64 * 1024

/** The three HTTP-date forms (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, and asctime (which is GMT). */
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/
const RFC_850 = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * `Retry-After` as delay-seconds or an HTTP-date, in milliseconds from now; undefined for
 * anything else, so the caller keeps its own backoff. (`Date.parse` alone takes "1.5" or "-5"
 * for dates in 2001: a retry at once, again and again, for a malformed header.)
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!v) return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  let at = Number.NaN
  if (IMF_FIXDATE.test(v) || RFC_850.test(v)) at = Date.parse(v)
  else if (ASCTIME.test(v)) at = Date.parse(`${v} GMT`)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * Webhook sends over undici connection pools: one pool per endpoint origin and checked address,
 * its connections kept alive between messages. (Measured: a small POST cost 99 µs of CPU with
 * `node:http` and 55 µs with undici, client and server together in one process.)
 * Each pool connects only to the address the SSRF guard checked, whatever DNS says by then
 * (a pinned `lookup`); a new address means a new pool. Redirects are not followed. The deadline
 * (`AbortSignal.timeout`) covers the whole exchange, response body included.
 */
export function createSender(options: { maxPools?: number; connectionsPerPool?: number } = {}): Sender {
  const maxPools = options.maxPools ?? 256
  // As many as the worker sends at once (hand-offs and a pass), so none waits for a connection
  // inside the pool while its deadline runs.
  const connections = options.connectionsPerPool ?? 128
  // Insertion order is recency (a hit moves its pool to the end): the first entry is the least used.
  const pools = new Map<string, Pool>()

  function poolFor(target: ResolvedTarget): Pool {
    const key = `${target.url.origin} ${target.address}`
    let pool = pools.get(key)
    if (pool) {
      pools.delete(key)
      pools.set(key, pool)
      return pool
    }
    const pinned: LookupFunction = (_host, opts, callback) => {
      if ((opts as { all?: boolean }).all) {
        ;(callback as any)(null, [{ address: target.address, family: target.family }])
      } else callback(null, target.address, target.family)
    }
    pool = new Pool(target.url.origin, { connections, connect: { lookup: pinned } })
    pools.set(key, pool)
    if (pools.size > maxPools) {
      const [oldest, old] = pools.entries().next().value!
      pools.delete(oldest)
      void old.close().catch(() => {})
    }
    return pool
  }

  return {
    async send(target, headers, body, timeoutMs) {
      const started = performance.now()
      const elapsed = () => Math.round(performance.now() - started)
      try {
        const res = await poolFor(target).request({
          method: 'POST',
          path: `${target.url.pathname}${target.url.search}`,
          headers: {
            ...headers,
            host: target.url.host,
            'content-type': 'application/json',
            'user-agent': 'Ovasabi-Webhooks/1',
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        })
        // Read (at most 64 KiB of) the answer, so the connection can serve the next message.
        await res.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => {})
        return {
          status: res.statusCode,
          retryAfterMs: parseRetryAfter(res.headers['retry-after']),
          durationMs: elapsed(),
        }
      } catch (err) {
        const e = err as Error & { code?: string }
        const timedOut = e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'UND_ERR_ABORTED'
        return {
          error: timedOut ? `timeout after ${timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`,
          durationMs: elapsed(),
        }
      }
    },
    async close() {
      const all = [...pools.values()]
      pools.clear()
      await Promise.all(all.map((p) => p.close().catch(() => {})))
    },
  }
}
