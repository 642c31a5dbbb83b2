import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type TSchema, Type } from 'typebox'
import type { Dispatcher } from '../../nexus/dispatcher.js'
import { dispatchWithPayloadAt } from '../../nexus/payload-paths.js'
import { idempotencyKeyHeader, requestIdFor } from '../../nexus/routes.js'
import { absentBodyAsEmpty, errors, SecuredBy } from '../../platform/http/schemas.js'
import { Slug } from '../campaign/campaign.schema.js'
import { Title } from './live.actions.js'
import { StreamCreated, StreamKeyReset, StreamStep } from './stream.schema.js'

export interface LifecycleRoutesOptions {
  dispatcher: Pick<Dispatcher, 'dispatch'>
}

const StreamParams = Type.Object({ slug: Slug, id: Type.String({ pattern: '^[0-9]{1,15}$' }) })
const StartBody = Type.Object({ title: Type.Optional(Title) }, { additionalProperties: false })
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
})
const IDEMPOTENCY =
  ' `Idempotency-Key` (or else `X-Request-Id`) keys the step as the action endpoint keys it: a retry ' +
  'within 24 h runs nothing again and gets the first answer with `idempotent-replayed: true`; the ' +
  'same key for another stream, step or body is 422 `IDEMPOTENCY_KEY_REUSED`.'
const NO_SECRET_REPLAY =
  ' The ingest URL is not kept for replays: a retry under the same key is 409 `SECRET_NOT_REPLAYED`, ' +
  '`details {withheld, result}` naming the stream.'

/** What one lifecycle route is: its action, path, answer, and the action's payload from the request. */
interface Step {
  action: 'stream.start' | 'stream.pause' | 'stream.stop' | 'stream.reset_key'
  url: string
  operationId: string
  description: string
  params: TSchema
  body?: TSchema
  created?: boolean
  response: TSchema
  payload: (request: FastifyRequest) => Record<string, unknown>
}

/**
 * `stream.start` / `stream.pause` / `stream.stop` / `stream.reset_key` over REST (ARCHITECTURE
 * section 3: one service, two routes): `POST /api/campaign/{slug}/streams` (create, starting) and
 * `POST /api/campaign/{slug}/streams/{id}/start|pause|stop|reset-key`. Each runs its action through
 * the dispatcher, as `POST /api/quote` runs `quote.submit`: the action's checks (campaign status,
 * feature, role), its idempotency record committed with the step, its `stream_event`s after the
 * commit. The route keeps its own answer: the action's `result`, 201 for a create.
 */
export function registerLifecycleRoutes(app: FastifyInstance, { dispatcher }: LifecycleRoutesOptions) {
  const step = (s: Step) =>
    app.post(
      s.url,
      {
        onRequest: app.authenticate,
        // A create may come without a body: it is `{}` (no title).
        ...(s.body ? { preValidation: absentBodyAsEmpty } : {}),
        schema: {
          operationId: s.operationId,
          tags: ['stream'],
          security: SecuredBy,
          description: s.description,
          headers: IdempotencyHeaders,
          params: s.params,
          ...(s.body ? { body: s.body } : {}),
          response: { [s.created ? 201 : 200]: s.response, ...errors(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { slug } = request.params as { slug: string }
        const key = idempotencyKeyHeader(request.headers)
        // The route's payload is its body's top level (`/title`) or its path (the stream id).
        const outcome = await dispatchWithPayloadAt('', () =>
          dispatcher.dispatch({
            campaignSlug: slug,
            body: { action: s.action, data: s.payload(request) },
            principal: request.principal!,
            ip: request.ip,
            idempotencyKey: key,
            // As the action endpoint: the HTTP request's id, `X-Request-Id` keying the record.
            ...requestIdFor(request.headers, request.id, key !== undefined),
          }),
        )
        if (outcome.replayed) reply.header('idempotent-replayed', 'true')
        // A refusal (recorded, or a replay's `SECRET_NOT_REPLAYED`) is the dispatcher's error body.
        if (outcome.status_code >= 300) return reply.status(outcome.status_code).send(outcome.body)
        return reply.status(s.created ? 201 : 200).send((outcome.body as { result: unknown }).result)
      },
    )

  const ONE = 'its owner or an admin (another participant: 403 `FORBIDDEN`; a guest: 403 `FORBIDDEN`)'
  const COMMON =
    'with the `streaming` feature (else 403 `FEATURE_DISABLED`); a stream of another campaign, or ' +
    "none: 404 `STREAM_NOT_FOUND`. The campaign's sockets get the `stream_event` once the change is stored."
  const id = (request: FastifyRequest) => (request.params as { id: string }).id

  step({
    action: 'stream.start',
    url: '/api/campaign/:slug/streams',
    operationId: 'createCampaignStream',
    description:
      'Create a campaign stream, starting (the `stream.start` action without `stream_id`, same service): ' +
      '`{stream_id, status, ingest_url, playback_url}`, the ingest URL (it holds the publishing key) in ' +
      'this answer only (`Cache-Control: no-store`; the key is stored hashed: reset it for a new one). ' +
      'Any participant of an active campaign (else 409 `CAMPAIGN_NOT_ACTIVE`; a guest: 403 `FORBIDDEN`), ' +
      `${COMMON} A person keeps at most STREAM_OPEN_PER_USER streams open per campaign: 409 ` +
      '`STREAM_LIMIT_REACHED`.' +
      IDEMPOTENCY +
      NO_SECRET_REPLAY,
    params: Type.Object({ slug: Slug }),
    body: StartBody,
    created: true,
    response: StreamCreated,
    payload: (request) => ({ ...(request.body as { title?: string }) }),
  })
  step({
    action: 'stream.start',
    url: '/api/campaign/:slug/streams/:id/start',
    operationId: 'startCampaignStream',
    description:
      'Take a starting or paused stream live (the `stream.start` action with `stream_id`, same service): ' +
      `${ONE}, in an active campaign (else 409 \`CAMPAIGN_NOT_ACTIVE\`), ${COMMON} A stream already live ` +
      'or ended: 409 `INVALID_STREAM_STATE`.' +
      IDEMPOTENCY,
    params: StreamParams,
    response: StreamStep,
    payload: (request) => ({ stream_id: id(request) }),
  })
  step({
    action: 'stream.pause',
    url: '/api/campaign/:slug/streams/:id/pause',
    operationId: 'pauseCampaignStream',
    description:
      'Pause a live stream (the `stream.pause` action, same service): ' +
      `${ONE}, in an active campaign (else 409 \`CAMPAIGN_NOT_ACTIVE\`), ${COMMON} A stream not live: ` +
      '409 `INVALID_STREAM_STATE`.' +
      IDEMPOTENCY,
    params: StreamParams,
    response: StreamStep,
    payload: (request) => ({ stream_id: id(request) }),
  })
  step({
    action: 'stream.stop',
    url: '/api/campaign/:slug/streams/:id/stop',
    operationId: 'stopCampaignStream',
    description:
      'End a stream for good (the `stream.stop` action, same service): ' +
      `${ONE}, whatever the campaign's status (a stream left on when its campaign ended is still ended), ` +
      `${COMMON} An ended stream: 409 \`INVALID_STREAM_STATE\`.${IDEMPOTENCY}`,
    params: StreamParams,
    response: StreamStep,
    payload: (request) => ({ stream_id: id(request) }),
  })
  step({
    action: 'stream.reset_key',
    url: '/api/campaign/:slug/streams/:id/reset-key',
    operationId: 'resetCampaignStreamKey',
    description:
      'A new publishing key for a campaign stream that has not ended (the `stream.reset_key` action, ' +
      'same service): its owner, or an editor or admin of the campaign (another participant: 403 ' +
      "`FORBIDDEN`; a guest: 403 `FORBIDDEN`), whatever the campaign's status, with the `streaming` " +
      'feature (else 403 `FEATURE_DISABLED`). The old key is refused by the ingest authorisation from ' +
      'then on; the new ingest URL is in this answer only (the key is stored hashed; `Cache-Control: ' +
      "no-store`). An ended stream: 409 `INVALID_STREAM_STATE`; another campaign's or an unknown " +
      'stream: 404 `STREAM_NOT_FOUND`.' +
      IDEMPOTENCY +
      NO_SECRET_REPLAY,
    params: StreamParams,
    response: StreamKeyReset,
    payload: (request) => ({ stream_id: id(request) }),
  })
}
