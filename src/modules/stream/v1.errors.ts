import type { FastifyError, FastifyInstance } from 'fastify'
import { AppError } from '../../platform/http/errors.js'

/** StreamSource's own wording, which deployed clients match on. */
export const MESSAGES = {
  unauthorized: 'Unauthorized',
  forbidden: 'You are not authorized to perform this action',
  notFound: 'Record not found',
  rateLimited: 'Too many requests. Please try again later.',
  maintenance: 'The API is currently under maintenance. Please try again later.',
  badCredentials: 'Invalid email or password',
} as const

/** An error answered as `{error, details?}` on `/api/v1` (and as our error model elsewhere). */
export class V1Error extends AppError {
  readonly fields?: Record<string, string[]>
  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { fields?: Record<string, string[]>; headers?: Record<string, string> } = {},
  ) {
    super(statusCode, code, message, { details: options.fields, headers: options.headers })
    this.fields = options.fields
  }
}

export const unauthorized = () => new V1Error(401, 'UNAUTHORIZED', MESSAGES.unauthorized)
export const forbidden = () => new V1Error(403, 'FORBIDDEN', MESSAGES.forbidden)
export const notFound = () => new V1Error(404, 'NOT_FOUND', MESSAGES.notFound)
export const nulRefused = () =>
  new V1Error(400, 'INVALID_CHARACTER', 'Input holds a character that cannot be stored (NUL)')

/**
 * Whether a failed credential check is an answer about the credential (revoked, cut off,
 * expired, its account or key gone: `authenticate`'s 401) rather than a failure to get one (the
 * database unreachable, a timeout), which says nothing about it. Only an answer may close a
 * `/cable` socket or refuse it as `unauthorized`.
 */
export function isCredentialRefusal(err: unknown): err is AppError {
  return err instanceof AppError && err.statusCode === 401
}

const human = (field: string) => {
  const words = field.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** 422 naming every field: `{error: "Link must be …, Status is not …", details: {link: ["must be …"]}}`. */
export function invalid(fields: Record<string, string[]>): V1Error {
  const message = Object.entries(fields)
    .flatMap(([field, problems]) => problems.map((p) => `${human(field)} ${p}`))
    .join(', ')
  return new V1Error(422, 'VALIDATION_FAILED', message, { fields })
}

type SchemaError = NonNullable<FastifyError['validation']>[number]

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'an array',
}

/**
 * One field's schema errors as the parser (stream.input.ts) words them, so a value is refused in
 * the same words however it arrives. A nullable or union field fails every branch at once (`must
 * be string`, `must be null`, `must match a schema in anyOf`): that is one problem, `must be a
 * string`, and a too-long value is the problem rather than its not being null.
 */
function fieldMessages(errors: SchemaError[]): string[] {
  const specific = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
  const types = specific.filter((e) => e.keyword === 'type')
  const others = specific.filter((e) => e.keyword !== 'type')
  const params = (e: SchemaError) => (e.params ?? {}) as Record<string, unknown>
  if (others.length > 0) {
    return others.map((e) => {
      if (e.keyword === 'required') return "can't be blank"
      if (e.keyword === 'additionalProperties') return 'is not a permitted field'
      if (e.keyword === 'maxLength') return `is too long (maximum is ${params(e).limit} characters)`
      if (e.keyword === 'enum' && Array.isArray(params(e).allowedValues))
        return `is not included in the list (${(params(e).allowedValues as unknown[]).join(', ')})`
      return e.message ?? 'is invalid'
    })
  }
  if (types.length > 0) {
    // As the parser words it (stream.input.ts): a nullable string that is a number "must be a string".
    const names = [...new Set(types.map((e) => String(params(e).type)))]
    const shown = names.length > 1 ? names.filter((n) => n !== 'null') : names
    return [`must be ${shown.map((n) => TYPE_WORDS[n] ?? n).join(' or ')}`]
  }
  return [errors[0]?.message ?? 'is invalid']
}

/** Fastify's schema errors become the same 422, named by field. */
function fromValidation(err: FastifyError): V1Error {
  const byField = new Map<string, SchemaError[]>()
  for (const v of err.validation ?? []) {
    const { missingProperty: missing, additionalProperty: extra } = (v.params ?? {}) as {
      missingProperty?: string
      additionalProperty?: string
    }
    const path = (v.instancePath || '').split('/').filter(Boolean)
    // A field not allowed is named itself ("Rank is not a permitted field"), not as the body.
    const field = missing ?? extra ?? path[path.length - 1] ?? err.validationContext ?? 'body'
    byField.set(field, [...(byField.get(field) ?? []), v])
  }
  const fields: Record<string, string[]> = {}
  for (const [field, errors] of byField) fields[field] = fieldMessages(errors)
  return invalid(fields)
}

/**
 * Scoped to the `/api/v1` plugin: these routes answer errors in StreamSource's shape while the
 * rest of the API keeps ours.
 */
export function registerV1ErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let appError: AppError | undefined = error instanceof AppError ? error : undefined
    if (!appError && error.validation) appError = fromValidation(error)
    // PostgreSQL (and PGlite) refusing a NUL that came in a query string: the input, not a 500.
    if (!appError && (error.code === '22021' || error.code === '22P05')) appError = nulRefused()
    if (!appError && typeof error.statusCode === 'number' && error.statusCode < 500) {
      appError = new AppError(error.statusCode, error.code ?? 'BAD_REQUEST', error.message)
    }
    if (!appError) {
      request.log.error({ err: error, request_id: request.id }, 'unhandled error')
      return reply.status(500).send({ error: 'Internal server error' })
    }
    if (appError.statusCode >= 500 && appError.statusCode !== 503)
      request.log.error({ err: error }, appError.message)
    if (appError.headers) reply.headers(appError.headers)
    const body: Record<string, unknown> = { error: appError.message }
    if (appError instanceof V1Error && appError.fields) body.details = appError.fields
    return reply.status(appError.statusCode).send(body)
  })
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'Not found' }))
}
