import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UnprocessableError, ValidationError } from '../platform/http/errors.js'
import { errors, SecuredBy } from '../platform/http/schemas.js'
import type { Dispatcher } from './dispatcher.js'
import { EnvelopeInput, SeedInput } from './envelope.js'
import { dispatchWithPayloadAt } from './payload-paths.js'

const envelopeValidator = Compile(EnvelopeInput)
const seedValidator = Compile(SeedInput)

/**
 * The instants a client `timestamp` may name. The date-time format also allows what PostgreSQL
 * refuses to store (year 0000, an RFC 9557 `[zone]` suffix, an offset past ±15:59 such as
 * RFC 3339's `+20:00`), which then failed at the commit as a 500: for an action that writes before
 * its commit (a join), after its effects, leaving its request id held. A leap second
 * (`23:59:60`), which PostgreSQL takes, is checked as the second before it.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')
/** PostgreSQL's widest UTC offset (`TZDISP_LIMIT`), in minutes. */
const WIDEST_OFFSET = 15 * 60 + 59

function storableTimestamp(value: string): boolean {
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(value)
  if (offset && Number(offset[2]) * 60 + Number(offset[3]) > WIDEST_OFFSET) return false
  const at = Date.parse(value.replace(/:60(?=[.Zz+-])/, ':59'))
  return at >= EARLIEST && at <= LATEST
}

/**
 * Whether a body meant the envelope: it says `type`, or it names the envelope's `event` or
 * `payload` and not the seed form's `action`. A body that forgot only `type` is then told that,
 * not that it lacks `action` and that `event` and `payload` are not allowed.
 */
function meantEnvelope(body: object): boolean {
  if ('type' in body) return true
  return !('action' in body) && ('event' in body || 'payload' in body)
}

/** Validate either body form, with the failing paths of the form the client meant. */
export function parseActionBody(body: unknown): EnvelopeInput | SeedInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('Body must be a JSON object', [{ path: '', message: 'must be object' }])
  }
  const validator = meantEnvelope(body) ? envelopeValidator : seedValidator
  if (validator.Check(body)) {
    const { timestamp } = body as { timestamp?: string }
    if (timestamp !== undefined && !storableTimestamp(timestamp)) {
      throw new ValidationError('Action body is invalid', [
        {
          path: '/timestamp',
          message: 'must be an RFC 3339 instant between years 0001 and 9999, its offset within ±15:59',
        },
      ])
    }
    return body as EnvelopeInput | SeedInput
  }
  const details = [...validator.Errors(body)]
    .slice(0, 20)
    .map((e) => ({ path: e.instancePath || '/', message: e.message }))
  throw new ValidationError('Action body is invalid', details)
}

/** The longest `Idempotency-Key` kept (the request id's own limit). */
const MAX_KEY_LENGTH = 128

/**
 * The `Idempotency-Key` header, undefined when absent. One that cannot be kept (empty, or longer
 * than a request id) is refused rather than ignored: ignored, the request ran with no record, so
 * the client's retry under that key ran it again.
 */
export function idempotencyKeyHeader(headers: Record<string, string | string[] | undefined>) {
  const key = headers['idempotency-key']
  if (key === undefined) return undefined
  if (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH) return key
  throw new ValidationError('Idempotency-Key is invalid', [
    {
      in: 'headers',
      path: '/idempotency-key',
      message: `must be 1 to ${MAX_KEY_LENGTH} characters`,
    },
  ])
}

/**
 * The request's key: the body's `request_id`, the `Idempotency-Key` header standing in for an
 * absent one. Both given, they must agree: a header the body overrode was ignored in silence, so
 * a client whose HTTP library keys its retries by the header had them keyed by something else.
 */
function keyOf(body: { request_id?: string }, header: string | undefined): string | undefined {
  if (header === undefined || body.request_id === undefined || header === body.request_id)
    return header ?? body.request_id
  throw new UnprocessableError(
    "The Idempotency-Key header and the body's request_id name different keys; send one, or the same in both",
    'IDEMPOTENCY_KEY_MISMATCH',
    [
      { in: 'headers', path: '/idempotency-key', message: "must equal the body's request_id" },
      { in: 'body', path: '/request_id', message: 'must equal the Idempotency-Key header' },
    ],
  )
}

/**
 * The HTTP request id for an action, when its `X-Request-Id` keys the action's idempotency record
 * (the body and `Idempotency-Key` name none): one that failed the request id pattern was replaced
 * by this server's own id (app.ts), under which no copy of the request can find the record, so
 * the client's retry would run the action again. Refused instead, as an invalid
 * `Idempotency-Key` is. Where something else keys the record the header only names the request
 * in logs, and a replaced one harms nothing. Every route that dispatches an action answers so
 * (`POST /api/quote` too): its `request_id` is the HTTP request's, the one its logs name.
 */
export function requestIdFor(
  headers: Record<string, string | string[] | undefined>,
  serverId: string,
  keyed: boolean,
): { fallbackRequestId: string } | { serverRequestId: string } {
  const given = headers['x-request-id']
  if (given === serverId) return { fallbackRequestId: serverId }
  if (given !== undefined && !keyed) {
    throw new ValidationError('X-Request-Id is invalid', [
      {
        in: 'headers',
        path: '/x-request-id',
        message: 'must be 1 to 128 letters, digits, or characters of _ . : -',
      },
    ])
  }
  return { serverRequestId: serverId }
}

export const ActionResponse = Type.Object({
  status: Type.Literal('success'),
  result: Type.Unknown(),
  message: Type.Optional(Type.String()),
  request_id: Type.String(),
})

export const nexusRoutes: FastifyPluginAsync<{ dispatcher: Dispatcher }> = async (app, { dispatcher }) => {
  app.post(
    '/api/:campaign/update',
    {
      onRequest: app.authenticate,
      // Both body forms are validated by parseActionBody, which reports the paths of the form used.
      validatorCompiler: () => () => true,
      schema: {
        operationId: 'dispatchAction',
        tags: ['nexus'],
        security: SecuredBy,
        description:
          'The single action endpoint. Accepts the seed form `{user_id, action, data, metadata}` or the full ' +
          '`campaign_event` envelope. `request_id` (or the `Idempotency-Key` header) makes repeats return the first response; ' +
          'both given, they must be equal (else 422 `IDEMPOTENCY_KEY_MISMATCH`).',
        params: Type.Object({ campaign: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: MAX_KEY_LENGTH })),
        }),
        body: Type.Union([EnvelopeInput, SeedInput]),
        response: { 200: ActionResponse, ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const params = request.params as { campaign: string }
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(params.campaign)) {
        throw new ValidationError('Campaign slug is invalid', [
          { in: 'params', path: '/campaign', message: 'must be a campaign slug' },
        ])
      }
      const header = idempotencyKeyHeader(request.headers)
      const body = parseActionBody(request.body)
      const key = keyOf(body, header)
      // The seed form carries the payload as `data`: its refusals point there.
      const at = 'type' in body ? '/payload' : '/data'
      const outcome = await dispatchWithPayloadAt(at, () =>
        dispatcher.dispatch({
          campaignSlug: params.campaign,
          body,
          principal: request.principal!,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
          idempotencyKey: header,
          // The HTTP request id: named by the client (`X-Request-Id`), or this server's (no record).
          ...requestIdFor(request.headers, request.id, key !== undefined),
        }),
      )
      if (outcome.replayed) reply.header('idempotent-replayed', 'true')
      return reply.status(outcome.status_code as 200).send(outcome.body as any)
    },
  )
}
