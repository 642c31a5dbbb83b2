import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'

/** The REST error body, referenced by every route's response schema. */
export const ErrorResponse = Type.Object(
  {
    status: Type.Literal('error'),
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(
        Type.Unknown({
          description:
            'What the error is about. For field problems (`VALIDATION_FAILED` and other refusals of ' +
            'input) a list of `{in, path, message}`: `in` is the part of the request (`body`, `query`, ' +
            '`params`, `headers`) and `path` a JSON Pointer (RFC 6901) into it, `""` for the whole ' +
            'part; `missing` names a required property that is absent. Other codes document their own.',
        }),
      ),
    }),
    request_id: Type.String(),
  },
  { $id: 'ErrorResponse' },
)

const ref = Type.Unsafe<{ status: 'error' }>({ $ref: 'ErrorResponse#' })

/** Error responses shared by routes: pass the statuses the route can answer with. */
export function errors(...codes: number[]): Record<number, typeof ref> {
  return Object.fromEntries(codes.map((c) => [c, ref]))
}

export const SecuredBy: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKey: [] }]

/**
 * A route's `preValidation` where a body is optional: none sent is read as `{}`, so its object
 * schema (every key optional) validates it; a body sent is validated as it is.
 */
export async function absentBodyAsEmpty(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}
