import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type TSchema, Type } from 'typebox'
import { hasRole, type Principal } from '../../platform/auth/principal.js'
import { ForbiddenError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { assertActionAllowed } from '../campaign/campaign.guard.js'
import { type CampaignStatus, Slug } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { ANY_STATUS, Title } from './live.actions.js'
import type { Announcer, LiveStreams } from './live.service.js'
import { StreamCreated, StreamKeyReset, StreamStep } from './stream.schema.js'

export interface LifecycleRoutesOptions {
  live: Pick<LiveStreams, 'start' | 'pause' | 'stop' | 'resetKey'>
  campaigns: Pick<CampaignService, 'get'>
}

const StreamParams = Type.Object({ slug: Slug, id: Type.String({ pattern: '^[0-9]{1,15}$' }) })
const emptyBody = async (request: FastifyRequest) => {
  if (request.body === undefined || request.body === null) request.body = {}
}
const StartBody = Type.Object({ title: Type.Optional(Title) }, { additionalProperties: false })

/** What one lifecycle route is: its action (whose checks it makes), path, answer and service call. */
interface Step {
  action: 'stream.start' | 'stream.pause' | 'stream.stop' | 'stream.reset_key'
  /** The action's `statuses`: absent, only `active` (as the dispatcher's default). */
  statuses?: readonly CampaignStatus[]
  url: string
  operationId: string
  description: string
  params: TSchema
  body?: TSchema
  created?: boolean
  response: TSchema
  run: (principal: Principal, slug: string, request: FastifyRequest, later: Announcer) => Promise<unknown>
}

/**
 * `stream.start` / `stream.pause` / `stream.stop` / `stream.reset_key` over REST (ARCHITECTURE
 * section 3: one service, two routes): `POST /api/campaign/{slug}/streams` (create, starting) and
 * `POST /api/campaign/{slug}/streams/{id}/start|pause|stop|reset-key`, each with its action's checks, in the
 * dispatcher's order (campaign status, feature, role), its answer and its errors.
 */
export function registerLifecycleRoutes(app: FastifyInstance, { live, campaigns }: LifecycleRoutesOptions) {
  const step = (s: Step) =>
    app.post(
      s.url,
      {
        onRequest: app.authenticate,
        // A create may come without a body: it is `{}` (no title).
        ...(s.body ? { preValidation: emptyBody } : {}),
        schema: {
          operationId: s.operationId,
          tags: ['stream'],
          security: SecuredBy,
          description: s.description,
          params: s.params,
          ...(s.body ? { body: s.body } : {}),
          response: { [s.created ? 201 : 200]: s.response, ...errors(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { slug } = request.params as { slug: string }
        assertActionAllowed(await campaigns.get(slug), 'streaming', s.statuses)
        if (!hasRole(request.principal, 'participant'))
          throw new ForbiddenError(`${s.action} requires the participant role`, 'FORBIDDEN')
        // The step's `stream_event`s, as the action's `ctx.afterCommit`: sent once the step is
        // stored (the service returned), and a bus that refuses them never fails the stored step.
        const announcements: Array<() => Promise<void>> = []
        const result = await s.run(request.principal!, slug, request, (a) => announcements.push(a))
        for (const announce of announcements) {
          void Promise.resolve()
            .then(announce)
            .catch((err: unknown) =>
              request.log.warn({ err, campaign: slug, action: s.action }, 'stream_event not published'),
            )
        }
        return reply.status(s.created ? 201 : 200).send(result)
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
      '`STREAM_LIMIT_REACHED`.',
    params: Type.Object({ slug: Slug }),
    body: StartBody,
    created: true,
    response: StreamCreated,
    run: (principal, slug, request, later) =>
      live.start(principal, slug, { title: (request.body as { title?: string }).title }, later),
  })
  step({
    action: 'stream.start',
    url: '/api/campaign/:slug/streams/:id/start',
    operationId: 'startCampaignStream',
    description:
      'Take a starting or paused stream live (the `stream.start` action with `stream_id`, same service): ' +
      `${ONE}, in an active campaign (else 409 \`CAMPAIGN_NOT_ACTIVE\`), ${COMMON} A stream already live ` +
      'or ended: 409 `INVALID_STREAM_STATE`.',
    params: StreamParams,
    response: StreamStep,
    run: (principal, slug, request, later) => live.start(principal, slug, { stream_id: id(request) }, later),
  })
  step({
    action: 'stream.pause',
    url: '/api/campaign/:slug/streams/:id/pause',
    operationId: 'pauseCampaignStream',
    description:
      'Pause a live stream (the `stream.pause` action, same service): ' +
      `${ONE}, in an active campaign (else 409 \`CAMPAIGN_NOT_ACTIVE\`), ${COMMON} A stream not live: ` +
      '409 `INVALID_STREAM_STATE`.',
    params: StreamParams,
    response: StreamStep,
    run: (principal, slug, request, later) => live.pause(principal, slug, id(request), later),
  })
  step({
    action: 'stream.stop',
    statuses: ANY_STATUS,
    url: '/api/campaign/:slug/streams/:id/stop',
    operationId: 'stopCampaignStream',
    description:
      'End a stream for good (the `stream.stop` action, same service): ' +
      `${ONE}, whatever the campaign's status (a stream left on when its campaign ended is still ended), ` +
      `${COMMON} An ended stream: 409 \`INVALID_STREAM_STATE\`.`,
    params: StreamParams,
    response: StreamStep,
    run: (principal, slug, request, later) => live.stop(principal, slug, id(request), later),
  })
  step({
    action: 'stream.reset_key',
    statuses: ANY_STATUS,
    url: '/api/campaign/:slug/streams/:id/reset-key',
    operationId: 'resetCampaignStreamKey',
    description:
      'A new publishing key for a campaign stream that has not ended (the `stream.reset_key` action, ' +
      'same service): its owner, or an editor or admin of the campaign (another participant: 403 ' +
      "`FORBIDDEN`; a guest: 403 `FORBIDDEN`), whatever the campaign's status, with the `streaming` " +
      'feature (else 403 `FEATURE_DISABLED`). The old key is refused by the ingest authorisation from ' +
      'then on; the new ingest URL is in this answer only (the key is stored hashed; `Cache-Control: ' +
      "no-store`). An ended stream: 409 `INVALID_STREAM_STATE`; another campaign's or an unknown " +
      'stream: 404 `STREAM_NOT_FOUND`.',
    params: StreamParams,
    response: StreamKeyReset,
    run: (principal, slug, request) => live.resetKey(principal, slug, id(request)),
  })
}
