/**
 * The one error model. Services throw these; `error-handler.ts` maps them to REST bodies and
 * `realtime/` maps them to WebSocket `error` frames, with the same `code`.
 */
export class AppError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly details?: unknown
  readonly headers?: Record<string, string>

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.statusCode = statusCode
    this.code = code
    this.details = options.details
    this.headers = options.headers
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, code = 'BAD_REQUEST', details?: unknown) {
    super(400, code, message, { details })
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'VALIDATION_FAILED', message, { details })
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'UNAUTHORIZED') {
    super(401, code, message)
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this', code = 'FORBIDDEN') {
    super(403, code, message)
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'NOT_FOUND') {
    super(404, code, message)
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT', details?: unknown) {
    super(409, code, message, { details })
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Request body is too large', code = 'PAYLOAD_TOO_LARGE') {
    super(413, code, message)
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(
    message = 'Unsupported content type',
    code = 'UNSUPPORTED_MEDIA_TYPE',
    headers?: Record<string, string>,
  ) {
    super(415, code, message, { headers })
  }
}

export class UnprocessableError extends AppError {
  constructor(message: string, code = 'UNPROCESSABLE', details?: unknown) {
    super(422, code, message, { details })
  }
}

export class TooManyRequestsError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests', code = 'RATE_LIMITED') {
    super(429, code, message, {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    })
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(
    message: string,
    code = 'SERVICE_UNAVAILABLE',
    details?: unknown,
    headers?: Record<string, string>,
  ) {
    super(503, code, message, { details, headers })
  }
}

/**
 * A refusal the client may send again after `retryAfterMs` (a request still running elsewhere, a
 * message being sent, an upstream resting): said twice, as REST's `Retry-After` (whole seconds, at
 * least 1) and as `details.retry_after_ms` for an answer on a socket, which has no headers.
 */
export function retryLaterError(
  statusCode: number,
  code: string,
  message: string,
  retryAfterMs: number,
  details: Record<string, unknown> = {},
): AppError {
  return new AppError(statusCode, code, message, {
    details: { ...details, retry_after_ms: retryAfterMs },
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  })
}

/** Seconds a client is told to wait before it tries again, on another node, after a shutdown's 503. */
export const SHUTDOWN_RETRY_AFTER_SECONDS = 5

/** What a request or an upgrade that arrives while the server shuts down is answered. */
export const shuttingDown = () =>
  new ServiceUnavailableError('The server is shutting down', 'SHUTTING_DOWN', undefined, {
    'retry-after': String(SHUTDOWN_RETRY_AFTER_SECONDS),
  })

/** The part of an HTTP request a field problem is in. */
export type RequestPart = 'body' | 'query' | 'params' | 'headers'

/**
 * One field problem in a REST error's `details`: `path` is a JSON Pointer (RFC 6901) into the
 * part of the request `in` names (`/metadata/scheduling/end` in the body, `/status` in the query
 * string), `''` for the whole part. WebSocket frames carry the same objects without `in`: their
 * paths point into the frame.
 */
export interface FieldProblem {
  in: RequestPart
  path: string
  message: string
  [more: string]: unknown
}

const PARTS = new Set<string>(['body', 'query', 'params', 'headers'])
/** Fastify's names for the parts (`validationContext`), and the older `body/…` paths' heads. */
const PART_ALIASES: Record<string, RequestPart> = {
  body: 'body',
  query: 'query',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
}

/**
 * Field problems as REST answers them: each gets `in`, `part` when its producer named none
 * (checks of our own mostly look at the body). A path in the form `body/metadata/x` (a part's
 * name, then the rest) is split into `in` and the pointer; a JSON Pointer begins with `/` or is
 * empty, so the two never mix. Anything that is not a list of `{path, message}` is left as it is.
 */
export function locateDetails(details: unknown, part: RequestPart = 'body'): unknown {
  if (!Array.isArray(details)) return details
  return details.map((d) => {
    if (typeof d !== 'object' || d === null) return d
    const problem = d as { in?: unknown; path?: unknown; message?: unknown }
    if (typeof problem.path !== 'string' || typeof problem.message !== 'string') return d
    if (typeof problem.in === 'string' && PARTS.has(problem.in)) return d
    const slash = problem.path.indexOf('/')
    const head = slash === -1 ? problem.path : problem.path.slice(0, slash)
    const named = slash !== 0 && problem.path !== '' ? PART_ALIASES[head] : undefined
    if (named) return { ...d, in: named, path: slash === -1 ? '' : problem.path.slice(slash) }
    return { ...d, in: part }
  })
}

/** The body every REST error is answered with. */
export interface ErrorBody {
  status: 'error'
  error: { code: string; message: string; details?: unknown }
  request_id: string
}

export function errorBody(error: AppError, requestId: string): ErrorBody {
  const body: ErrorBody = {
    status: 'error',
    error: { code: error.code, message: error.message },
    request_id: requestId,
  }
  if (error.details !== undefined) body.error.details = error.details
  return body
}
