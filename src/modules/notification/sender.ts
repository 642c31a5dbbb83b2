import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import type { ResolvedTarget } from './target-guard.js'

export interface SendResult {
  /** Undefined when no response arrived (network error or timeout). */
  status?: number
  retryAfterMs?: number
  error?: string
  durationMs: number
}

const MAX_RESPONSE_BYTES = 64 * 1024

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * POST one signed body. `node:http` rather than `fetch` because it lets us pin the connection to
 * the address the SSRF guard checked (custom `lookup`); the deadline is `AbortSignal.timeout`
 * over the whole exchange, body included.
 */
export function send(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      ;(callback as any)(null, [{ address: target.address, family: target.family }])
    } else callback(null, target.address, target.family)
  }
  const client = target.url.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    let settled = false
    const done = (r: SendResult) => {
      if (settled) return
      settled = true
      resolve(r)
    }
    const req = client.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Ovasabi-Webhooks/1',
        },
      },
      (res) => {
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_RESPONSE_BYTES) res.destroy()
        })
        const finish = () =>
          done({
            status: res.statusCode,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            durationMs: elapsed(),
          })
        res.on('end', finish)
        res.on('close', finish)
        res.on('error', finish)
      },
    )
    req.on('error', (err: Error & { code?: string }) => {
      const timedOut = err.name === 'AbortError' || err.name === 'TimeoutError' || err.code === 'ABORT_ERR'
      done({
        error: timedOut ? `timeout after ${timeoutMs} ms` : `${err.code ?? err.name}: ${err.message}`,
        durationMs: elapsed(),
      })
    })
    req.end(body)
  })
}
