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
}

/** Holds the base URL and the current credential; every typed call goes through `request`. */
export class HttpCore {
  readonly baseUrl: string
  token?: string
  apiKey?: string
  private readonly fetchImpl: FetchLike

  constructor(opts: { baseUrl: string; token?: string; apiKey?: string; fetch?: FetchLike }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
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
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
    if (opts.auth !== false) Object.assign(headers, this.authHeaders())
    let body: string | undefined
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(opts.body)
    }
    let res: Response
    try {
      res = await this.fetchImpl(this.url(path, opts.query), { method, headers, body, signal: opts.signal })
    } catch (err) {
      const aborted = (err as { name?: string })?.name === 'AbortError'
      throw new OvasabiError(aborted ? 'ABORTED' : 'NETWORK_ERROR', `${method} ${path}: ${String(err)}`, {
        cause: err,
      })
    }
    const raw = await res.text()
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
