import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance } from 'fastify'
import {
  AppError,
  BadRequestError,
  errorBody,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.js'

/** Fastify's own error codes for bad input, mapped to ours. Anything else unknown is a masked 500. */
function fromFastifyError(err: FastifyError): AppError | undefined {
  if (err.validation) {
    const details = err.validation.map((v) => ({
      path: `${err.validationContext ?? 'body'}${v.instancePath || ''}`,
      message: v.message,
      ...(v.params && (v.params as any).missingProperty
        ? { missing: (v.params as any).missingProperty }
        : {}),
    }))
    return new ValidationError(`Request ${err.validationContext ?? 'body'} is invalid`, details)
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError()
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? new UnsupportedMediaTypeError(
            `Content-Type ${err.message.split(': ').pop()} is not supported; send application/json`,
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
    const code = typeof built?.code === 'string' ? built.code : err.code
    const message = typeof built?.message === 'string' ? built.message : err.message
    return new AppError(
      err.statusCode,
      code ?? (err.statusCode === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST'),
      message || STATUS_CODES[err.statusCode] || 'Bad request',
    )
  }
  return undefined
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = error instanceof AppError ? error : fromFastifyError(error)
    if (!appError) {
      request.log.error({ err: error, request_id: request.id }, 'unhandled error')
      return reply.status(500).send({
        status: 'error',
        error: { code: 'INTERNAL', message: 'Internal server error' },
        request_id: request.id,
      })
    }
    if (appError.statusCode >= 500) request.log.error({ err: error }, appError.message)
    if (appError.headers) reply.headers(appError.headers)
    return reply.status(appError.statusCode).send(errorBody(appError, request.id))
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
