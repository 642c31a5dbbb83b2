/**
 * Codes that mean "this server does not offer that feature here", so a UI hides it or says "not
 * available" instead of showing the error: a missing route, a disabled feature, an unknown action,
 * and no translation provider configured (`TRANSLATION_UNAVAILABLE`, a 503 that retrying at once
 * does not cure).
 */
const UNAVAILABLE_CODES = new Set([
  'ROUTE_NOT_FOUND',
  'FEATURE_DISABLED',
  'UNKNOWN_ACTION',
  'TRANSLATION_UNAVAILABLE',
])

/** Status codes of StreamSource-style `{error:"…"}` bodies, mapped to our error codes. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_FAILED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
}

/**
 * One field-level problem, as the server reports it in `error.details`: `path` is a JSON Pointer
 * (RFC 6901) into the part of the request `in` names (`/metadata/scheduling/end` in the body,
 * `/status` in the query string). WebSocket frames carry no `in`: their paths point into the frame.
 */
export interface FieldIssue {
  /** The part of the HTTP request the path is into; absent in WebSocket frames. */
  in?: 'body' | 'query' | 'params' | 'headers'
  path: string
  message: string
  /** A required property that is absent (the path is then its parent's). */
  missing?: string
}

/**
 * Every failure the SDK reports: a server error body (REST or WebSocket `error` frame), a
 * network failure (`NETWORK_ERROR`, status 0) or a timeout (`TIMEOUT`). `code` is the server's
 * string code, so callers branch on it, never on the message.
 */
export class OvasabiError extends Error {
  readonly code: string
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number
  readonly details?: unknown
  readonly requestId?: string
  /** Seconds from `Retry-After`, when the server sent one. */
  readonly retryAfter?: number

  constructor(
    code: string,
    message: string,
    init: {
      status?: number
      details?: unknown
      requestId?: string
      retryAfter?: number
      cause?: unknown
    } = {},
  ) {
    super(message, { cause: init.cause })
    this.name = 'OvasabiError'
    this.code = code
    this.status = init.status ?? 0
    this.details = init.details
    this.requestId = init.requestId
    this.retryAfter = init.retryAfter
  }

  /** True when the route or feature does not exist on this server or campaign. */
  get unavailable(): boolean {
    return UNAVAILABLE_CODES.has(this.code)
  }

  /**
   * Field issues keyed by the last path segment (`/payload/email` → `email`), for inline form
   * errors. A path segment is unescaped as JSON Pointer says (`~1` → `/`, `~0` → `~`).
   */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    if (!Array.isArray(this.details)) return out
    for (const d of this.details as Array<Partial<FieldIssue>>) {
      if (typeof d?.message !== 'string') continue
      const segments = String(d.path ?? '')
        .split('/')
        .filter(Boolean)
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      const field = d.missing ?? segments[segments.length - 1] ?? ''
      if (field && !(field in out)) out[field] = d.message
    }
    return out
  }

  /** Build from a parsed error body; understands both our body and StreamSource's `{error}`. */
  static fromBody(
    status: number,
    body: unknown,
    headers?: { get(name: string): string | null },
  ): OvasabiError {
    const retryAfter = retryAfterSeconds(headers?.get('retry-after'))
    const requestId = headers?.get('x-request-id') ?? undefined
    const b = body as any
    if (b && typeof b === 'object' && b.error && typeof b.error === 'object') {
      return new OvasabiError(
        String(b.error.code ?? CODE_BY_STATUS[status] ?? 'HTTP_ERROR'),
        String(b.error.message ?? ''),
        {
          status,
          details: b.error.details,
          requestId: typeof b.request_id === 'string' ? b.request_id : requestId,
          retryAfter,
        },
      )
    }
    if (b && typeof b === 'object' && typeof b.error === 'string') {
      return new OvasabiError(CODE_BY_STATUS[status] ?? 'HTTP_ERROR', b.error, {
        status,
        details: b.errors ?? b.details,
        requestId,
        retryAfter,
      })
    }
    return new OvasabiError(CODE_BY_STATUS[status] ?? 'HTTP_ERROR', `HTTP ${status}`, {
      status,
      requestId,
      retryAfter,
    })
  }
}

/**
 * `Retry-After` in seconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3; proxies and CDNs send
 * one) counted from now, 0 once past. Undefined when absent or unreadable.
 */
function retryAfterSeconds(value: string | null | undefined): number | undefined {
  if (!value?.trim()) return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number(value)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

export function isOvasabiError(err: unknown): err is OvasabiError {
  return err instanceof OvasabiError
}
