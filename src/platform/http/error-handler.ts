import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  AppError,
  BadRequestError,
  errorBody,
  type FieldProblem,
  locateDetails,
  PayloadTooLargeError,
  type RequestPart,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.js'
import { patternMessage } from './pattern-message.js'

/** A client's header as an error message may quote it: printable, bounded. */
function quoted(value: string | undefined): string {
  if (!value) return 'none'
  const printable = value.replace(/[^\x20-\x7e]/g, '?')
  return printable.length > 100 ? `${printable.slice(0, 100)}…` : printable
}

/** An `enum` miss names the values allowed (Ajv says only "must be equal to one of the allowed values"). */
function enumMessage(v: { keyword?: string; params?: unknown }): string | undefined {
  const allowed = (v.params as { allowedValues?: unknown } | undefined)?.allowedValues
  if (v.keyword !== 'enum' || !Array.isArray(allowed)) return undefined
  return `must be one of: ${allowed.map((a) => String(a)).join(', ')}`
}

type Violation = NonNullable<FastifyError['validation']>[number]

/** Fastify's `validationContext` (`querystring`, …) as the part a field problem is `in`. */
function requestPart(context: string | undefined): RequestPart {
  return context === 'querystring'
    ? 'query'
    : context === 'params' || context === 'headers'
      ? context
      : 'body'
}

/**
 * One detail per violation, except in two unions. Of constants (TypeBox's `Union([Literal…])`):
 * Ajv says "must be equal to constant" once per branch and then "must match a schema in anyOf";
 * those become one "must be one of: a, b, c" at that path. Of a value or null (a nullable field):
 * Ajv adds "must be null" and "must match a schema in anyOf" to the value's own problem, which
 * then says "…, or null" alone. Paths are Ajv's `instancePath`, a JSON Pointer into the part, as
 * our own checks name them; the part is `in`.
 */
function validationDetails(violations: Violation[], part: RequestPart) {
  const notNull = (v: Violation) => v.keyword === 'type' && (v.params as { type?: unknown }).type === 'null'
  const constants = new Map<string, unknown[]>()
  /** Paths of a value that may be null: its problems say so. */
  const nullable = new Set<string>()
  for (const v of violations) {
    if (notNull(v)) nullable.add(v.instancePath)
    if (v.keyword !== 'const') continue
    const allowed = constants.get(v.instancePath) ?? []
    allowed.push((v.params as { allowedValue?: unknown }).allowedValue)
    constants.set(v.instancePath, allowed)
  }
  const told = new Set<string>()
  const details: FieldProblem[] = []
  for (const v of violations) {
    // An unknown key is named by its own path, as any other offending value is.
    const extra = v.keyword === 'additionalProperties' ? (v.params as { additionalProperty?: unknown }) : {}
    const key =
      typeof extra.additionalProperty === 'string'
        ? `/${extra.additionalProperty.replaceAll('~', '~0').replaceAll('/', '~1')}`
        : ''
    const path = `${v.instancePath || ''}${key}`
    const allowed = constants.get(v.instancePath)
    if (allowed && (v.keyword === 'const' || v.keyword === 'anyOf')) {
      if (told.has(v.instancePath)) continue
      told.add(v.instancePath)
      const values = allowed.map((a) => String(a)).join(', ')
      const message = allowed.length > 1 ? `must be one of: ${values}` : `must be ${values}`
      details.push({
        in: part,
        path,
        message: nullable.has(v.instancePath) ? `${message}, or null` : message,
      })
      continue
    }
    const orNull = !key && nullable.has(v.instancePath)
    if (orNull && (v.keyword === 'anyOf' || notNull(v))) continue
    const missing = (v.params as { missingProperty?: unknown } | undefined)?.missingProperty
    const message = key
      ? 'is not a known property'
      : v.keyword === 'pattern'
        ? patternMessage((v as { parentSchema?: unknown }).parentSchema, v.message ?? 'is invalid')
        : (enumMessage(v) ?? v.message ?? 'is invalid')
    details.push({
      in: part,
      path,
      message: orNull ? `${message}, or null` : message,
      ...(missing ? { missing } : {}),
    })
  }
  return details
}

/** Fastify's own error codes for bad input, mapped to ours. Anything else unknown is a masked 500. */
function fromFastifyError(err: FastifyError, request: FastifyRequest): AppError | undefined {
  if (err.validation) {
    const context = err.validationContext ?? 'body'
    return new ValidationError(
      `Request ${context} is invalid`,
      validationDetails(err.validation, requestPart(err.validationContext)),
    )
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError()
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? new UnsupportedMediaTypeError(
            `Content-Type ${quoted(request.headers['content-type'])} is not supported; send application/json`,
          )
        : new BadRequestError('Content-Length does not match the body', 'INVALID_CONTENT_LENGTH')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequestError('Body is empty; send a JSON object', 'INVALID_JSON')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BadRequestError('Body is not valid JSON', 'INVALID_JSON')
    // PostgreSQL (and PGlite) refusing a character it cannot store (a NUL that reached a query
    // some other way than a JSON body, e.g. a query string): the client's input, not our fault.
    case '22021':
    case '22P05':
      return new BadRequestError('Input holds a character that cannot be stored (NUL)', 'INVALID_CHARACTER')
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // A plugin that builds its own refusal (the global rate limit's `errorResponseBuilder`) throws
    // what it built: our error body, not an Error. Its code and message are the answer's.
    const built = (err as { error?: { code?: unknown; message?: unknown } }).error
    const code = typeof built?.code === 'string' ? built.code : codeOfStatus(err.statusCode)
    const message = typeof built?.message === 'string' ? built.message : err.message
    return new AppError(err.statusCode, code, message || STATUS_CODES[err.statusCode] || 'Bad request')
  }
  return undefined
}

/** Codes of ours that differ from the status's name. */
const CODE_BY_STATUS: Record<number, string> = {
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
}

/**
 * The code of a 4xx some library refused with (the static files' 403, 412 and 416; a plugin's
 * own): its status's name (`RANGE_NOT_SATISFIABLE`, `PRECONDITION_FAILED`), as our own errors
 * of that status are named. Never the library's own code (`FST_…`, `ERR_…`, `ENOENT`).
 */
function codeOfStatus(status: number): string {
  return (
    CODE_BY_STATUS[status] ??
    (STATUS_CODES[status] ?? 'Bad Request')
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
  )
}

/** A route's own answer to a URL the router refused (see `answerBadUrls`): the error to answer with. */
export type BadUrlAnswer = (request: FastifyRequest) => Promise<unknown>

/**
 * Callbacks kept per root instance, for the answers the router gives itself (no hook runs for
 * those): `add` one, `of` an instance's.
 */
function perApp<T>() {
  const lists = new WeakMap<FastifyInstance, T[]>()
  return {
    add(app: FastifyInstance, item: T): void {
      const list = lists.get(app) ?? []
      list.push(item)
      lists.set(app, list)
    },
    of: (app: FastifyInstance): readonly T[] => lists.get(app) ?? [],
  }
}

const badUrlAnswers = perApp<{ prefix: string; answer: BadUrlAnswer }>()

/**
 * GETs under `prefix` that the router refuses (see `frameworkErrors`) are answered by `answer`
 * instead: a route that reads the raw URL itself and must answer every URL alike (the `/ws/…`
 * probe answers what the upgrade of the same URL would). On the root instance.
 */
export function answerBadUrls(app: FastifyInstance, prefix: string, answer: BadUrlAnswer): void {
  badUrlAnswers.add(app, { prefix, answer })
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a path with
 * a broken percent-encoding, `/api/user/%E0%A4%A`; a path parameter over its length), answered
 * with our error body instead of Fastify's own, or with the answer a route gave for its paths
 * (`answerBadUrls`). No hook runs for these, so the headers every answer carries are set here.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const own =
    (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') &&
    (request.method === 'GET' || request.method === 'HEAD')
      ? badUrlAnswers.of(request.server).find((a) => request.url.startsWith(a.prefix))
      : undefined
  if (own) {
    own.answer(request).then(
      (answer) => sendRouterAnswer(answer, request, reply),
      (err: unknown) => sendRouterAnswer(err, request, reply),
    )
    return
  }
  const appError =
    error.code === 'FST_ERR_BAD_URL'
      ? new BadRequestError('The URL holds an invalid percent-encoding', 'INVALID_URL')
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError(414, 'URI_TOO_LONG', 'A path segment of the URL is too long')
        : error
  sendRouterAnswer(appError, request, reply)
}

/** What is told of each answer the router gave itself (see `onRouterAnswer`). */
export type RouterAnswerListener = (request: FastifyRequest, reply: FastifyReply) => void

const routerAnswerListeners = perApp<RouterAnswerListener>()

/**
 * `listener` hears of every answer to a URL the router refused, once it is sent: no hook runs for
 * those (`onResponse` included), so the request metrics would not count them. On the root instance.
 */
export function onRouterAnswer(app: FastifyInstance, listener: RouterAnswerListener): void {
  routerAnswerListeners.add(app, listener)
}

/** Sets headers on an answer (see `beforeRouterAnswer`). */
export type RouterAnswerHeaders = (request: FastifyRequest, reply: FastifyReply) => void

const routerAnswerHeaders = perApp<RouterAnswerHeaders>()

/**
 * `setHeaders` runs before every answer to a URL the router refused is sent: no hook runs for
 * those (`onRequest` included), so headers every answer must carry (the security headers) are
 * set through this as well as by a hook. On the root instance.
 */
export function beforeRouterAnswer(app: FastifyInstance, setHeaders: RouterAnswerHeaders): void {
  routerAnswerHeaders.add(app, setHeaders)
}

/** `answer` (an `AppError`, or anything else: a masked 500, logged) with the headers every answer carries. */
function sendRouterAnswer(answer: unknown, request: FastifyRequest, reply: FastifyReply): void {
  for (const setHeaders of routerAnswerHeaders.of(request.server)) setHeaders(request, reply)
  const listeners = routerAnswerListeners.of(request.server)
  if (listeners.length > 0) {
    reply.raw.once('finish', () => {
      for (const listener of listeners) listener(request, reply)
    })
  }
  const appError = answer instanceof AppError ? answer : undefined
  if (!appError) request.log.error({ err: answer }, 'router error')
  reply
    .status(appError?.statusCode ?? 500)
    .headers({ ...appError?.headers, 'x-request-id': request.id, 'cache-control': 'no-store' })
    .send(
      appError
        ? errorBody(appError, request.id)
        : {
            status: 'error',
            error: { code: 'INTERNAL', message: 'Internal server error' },
            request_id: request.id,
          },
    )
}

/** What a dependency answered, for the operator: `S3ServiceException: …`, never a stack. */
function causeOf(err: Error): { cause?: string } {
  const cause = err.cause
  if (cause === undefined) return {}
  return { cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) }
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = error instanceof AppError ? error : fromFastifyError(error, request)
    if (!appError) {
      request.log.error({ err: error, request_id: request.id }, 'unhandled error')
      return reply.status(500).send({
        status: 'error',
        error: { code: 'INTERNAL', message: 'Internal server error' },
        request_id: request.id,
      })
    }
    // A 503 is a state we answer on purpose (a dependency down or switched off, shutting down):
    // a warning naming it and what the dependency said (its cause), no stack. Any other 5xx is a
    // fault: logged as an error, stack and all.
    if (appError.statusCode === 503)
      request.log.warn({ code: appError.code, ...causeOf(appError) }, appError.message)
    else if (appError.statusCode >= 500) request.log.error({ err: error }, appError.message)
    if (appError.headers) reply.headers(appError.headers)
    const body = errorBody(appError, request.id)
    // Field problems name the part of the request they are in; our own checks' are the body's
    // unless they say otherwise.
    if (body.error.details !== undefined) body.error.details = locateDetails(body.error.details)
    return reply.status(appError.statusCode).send(body)
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      status: 'error',
      error: {
        code: 'ROUTE_NOT_FOUND',
        message: `No route for ${request.method} ${request.url.split('?')[0]}`,
      },
      request_id: request.id,
    })
  })
}
