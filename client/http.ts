import { OvasabiError } from './errors.js'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export type Query = Record<string, string | number | boolean | undefined | null>

export interface RequestOptions {
  body?: unknown
  query?: Query
  headers?: Record<string, string>
  /** `false`: send no credential (public routes). */
  auth?: boolean
  /** Return the response text instead of parsing JSON (CSV, Mermaid). */
  text?: boolean
  signal?: AbortSignal
  /** Overrides the client's `timeoutMs` for this call (0 or `Infinity`: none). */
  timeoutMs?: number
}

/**
 * A path segment URL parsing folds away (`.`, `..`, also as `%2e`): `/api/campaign/../leads/x`
 * would be sent as `/api/leads/x`, another route. `encodeURIComponent` leaves dots alone.
 */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i

/** A change made only if the resource is still as read: 412 `PRECONDITION_FAILED` otherwise. */
export interface ConditionalOptions {
  /**
   * A version as read (sent as its `ETag`, `"<version>"`), or an `ETag` header's value as is
   * (`*`: any state). Absent: no condition.
   */
  ifMatch?: number | string
}

/** The `If-Match` header `ConditionalOptions` asks for (none without `ifMatch`). */
export function ifMatchHeaders(opts: ConditionalOptions = {}): Record<string, string> {
  const tag = opts.ifMatch
  if (tag === undefined) return {}
  return { 'if-match': typeof tag === 'number' ? `"${tag}"` : tag }
}

/**
 * A body JSON cannot carry (a BigInt, a cycle): the page's mistake, told as the SDK's own error
 * (status 0, nothing sent), so one `catch` handles every failure by its `code`.
 */
export function invalidPayload(what: string, err: unknown, requestId?: string): OvasabiError {
  const why = err instanceof Error ? err.message : String(err)
  return new OvasabiError('INVALID_PAYLOAD', `${what}: the body cannot be sent as JSON (${why})`, {
    cause: err,
    requestId,
  })
}

/** How long a call may take, answer body included, unless the client or the call says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000

/**
 * `setTimeout` for a deadline a caller chose: `Infinity` (or NaN) is none, and one past what a timer
 * holds (2^31-1 ms, ~24.8 days) is capped there. Timers fire at once (Node: after 1 ms) for either,
 * which turned "no deadline" into an immediate `TIMEOUT`.
 */
export function deadline(run: () => void, ms: number): ReturnType<typeof setTimeout> | undefined {
  if (!Number.isFinite(ms)) return undefined
  return setTimeout(run, Math.min(ms, 2 ** 31 - 1))
}

/** Holds the base URL and the current credential; every typed call goes through `request`. */
export class HttpCore {
  readonly baseUrl: string
  token?: string
  apiKey?: string
  private readonly fetchImpl: FetchLike
  private readonly timeoutMs: number

  constructor(opts: {
    baseUrl: string
    token?: string
    apiKey?: string
    fetch?: FetchLike
    timeoutMs?: number
  }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.token = opts.token
    this.apiKey = opts.apiKey
    if (!opts.fetch && typeof globalThis.fetch !== 'function') {
      throw new TypeError('No fetch available: pass `fetch` to createClient')
    }
    // Browsers refuse `fetch` called with another `this`.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  url(path: string, query?: Query): string {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) qs.set(k, String(v))
    const s = qs.toString()
    return `${this.baseUrl}${path}${s ? `?${s}` : ''}`
  }

  /** API keys go as bearer too: the server tells `ovs_…` keys from JWTs, and `/api/v1` reads only `Authorization`. */
  authHeaders(): Record<string, string> {
    const credential = this.apiKey ?? this.token
    return credential ? { authorization: `Bearer ${credential}` } : {}
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const folded = path
      .split('?')[0]!
      .split('/')
      .find((segment) => DOT_SEGMENT.test(segment))
    if (folded !== undefined) {
      throw new OvasabiError(
        'VALIDATION_FAILED',
        `${method} ${path}: "${decodeURIComponent(folded)}" cannot be sent as an id or slug`,
        { details: [{ path: '/path', message: 'an id or slug must not be "." or ".."' }] },
      )
    }
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
    if (opts.auth !== false) Object.assign(headers, this.authHeaders())
    let body: string | undefined
    if (opts.body !== undefined) {
      // A type the call names (`application/merge-patch+json`) is kept: the body is JSON either way.
      const named = Object.keys(headers).find((name) => name.toLowerCase() === 'content-type')
      if (named === undefined) headers['content-type'] = 'application/json'
      try {
        body = JSON.stringify(opts.body)
      } catch (err) {
        throw invalidPayload(`${method} ${path}`, err)
      }
    }
    // One signal for the caller's abort and the deadline (AbortSignal.any is too new for some browsers).
    const limit = opts.timeoutMs ?? this.timeoutMs
    const controller = new AbortController()
    let timedOut = false
    const expire = () => {
      timedOut = true
      controller.abort()
    }
    const timer = limit > 0 ? deadline(expire, limit) : undefined
    const forward = () => controller.abort()
    if (opts.signal?.aborted) controller.abort()
    else opts.signal?.addEventListener('abort', forward, { once: true })
    const failed = (err: unknown) =>
      timedOut
        ? new OvasabiError('TIMEOUT', `${method} ${path}: no answer within ${limit} ms`, { cause: err })
        : new OvasabiError(
            (err as { name?: string })?.name === 'AbortError' ? 'ABORTED' : 'NETWORK_ERROR',
            `${method} ${path}: ${String(err)}`,
            { cause: err },
          )
    let res: Response
    let raw: string
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal: controller.signal,
      })
      raw = await res.text()
    } catch (err) {
      throw failed(err)
    } finally {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', forward)
    }
    if (!res.ok) {
      let parsed: unknown
      try {
        parsed = raw ? JSON.parse(raw) : undefined
      } catch {
        parsed = undefined
      }
      throw OvasabiError.fromBody(res.status, parsed, res.headers)
    }
    if (opts.text) return raw as T
    if (!raw) return undefined as T
    try {
      return JSON.parse(raw) as T
    } catch (err) {
      throw new OvasabiError('INVALID_RESPONSE', `${method} ${path} answered non-JSON`, {
        status: res.status,
        cause: err,
      })
    }
  }
}

/** How long the real-time connection's probe waits for an answer before counting it as none. */
export const PROBE_TIMEOUT_MS = 10_000

/**
 * A plain GET of a `/ws/…` URL (its `http:`/`https:` form): the server runs the upgrade's checks
 * and answers the refusal the upgrade got, which a browser's WebSocket only sees as close code
 * 1006, or 426 `UPGRADE_REQUIRED` when it would be admitted. The token goes as the socket sent it:
 * in `?token=` when the URL has it, else as `Authorization: Bearer` (a page's `fetch` may not send
 * `Sec-WebSocket-Protocol`); without one the browser sends its cookie, as the WebSocket did.
 *
 * Never throws: no answer is `NETWORK_ERROR` or `TIMEOUT` (status 0). `ours` says whether the
 * answer carried the server's error body, rather than a proxy's page (an HTML 404 from a balancer
 * that routes only upgrades to the server says nothing about the socket).
 */
export async function probeUpgrade(
  fetchImpl: FetchLike,
  wsUrl: string,
  token: string | undefined,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<{ error: OvasabiError; ours: boolean }> {
  const url = new URL(wsUrl)
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:'
  const headers: Record<string, string> = { accept: 'application/json' }
  if (token && !url.searchParams.has('token')) headers.authorization = `Bearer ${token}`
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, opts.timeoutMs ?? PROBE_TIMEOUT_MS)
  const forward = () => controller.abort()
  if (opts.signal?.aborted) controller.abort()
  else opts.signal?.addEventListener('abort', forward, { once: true })
  try {
    const res = await fetchImpl(url.toString(), {
      method: 'GET',
      headers,
      // The cookie is the credential only when there is no token (as on the socket's handshake).
      credentials: token ? 'same-origin' : 'include',
      cache: 'no-store',
      signal: controller.signal,
    })
    const raw = await res.text()
    let body: unknown
    try {
      body = raw ? JSON.parse(raw) : undefined
    } catch {
      body = undefined
    }
    const error = (body as { error?: { code?: unknown } } | undefined)?.error
    return {
      error: OvasabiError.fromBody(res.status, body, res.headers),
      ours: typeof error === 'object' && error !== null && typeof error.code === 'string',
    }
  } catch (err) {
    const code = timedOut
      ? 'TIMEOUT'
      : (err as { name?: string })?.name === 'AbortError'
        ? 'ABORTED'
        : 'NETWORK_ERROR'
    return {
      error: new OvasabiError(code, `GET ${url.pathname}: ${String(err)}`, { cause: err }),
      ours: false,
    }
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', forward)
  }
}
