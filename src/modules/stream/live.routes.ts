import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { hasRole } from '../../platform/auth/principal.js'
import { ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { campaignStatus, hasFeature, Slug } from '../campaign/campaign.schema.js'
import type { Dispatcher } from '../../nexus/dispatcher.js'
import type { LiveStreams } from './live.service.js'
import { VisitorLiveStreams } from './stream.schema.js'
import { type IngestRoutesOptions, registerIngestRoutes } from './live.ingest.js'
import { registerLifecycleRoutes } from './live.lifecycle.routes.js'

export interface LiveRoutesOptions extends Omit<IngestRoutesOptions, 'live'> {
  live: IngestRoutesOptions['live'] & Pick<LiveStreams, 'current'>
  /** Runs the lifecycle routes' actions (`live.lifecycle.routes.ts`). */
  dispatcher: Pick<Dispatcher, 'dispatch'>
}

/**
 * `GET /api/campaign/{slug}/streams/live`: visitors' REST read of the campaign's live streams;
 * the `stream.start`/`pause`/`stop`/`reset_key` routes (`live.lifecycle.routes.ts`); and the media
 * servers' ingest authorisation (`live.ingest.ts`).
 */
export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (app, options) => {
  const { live, campaigns, dispatcher } = options
  registerIngestRoutes(app, options)
  registerLifecycleRoutes(app, { dispatcher })
  app.get(
    '/api/campaign/:slug/streams/live',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'listCampaignLiveStreams',
        tags: ['stream'],
        security: SecuredBy,
        description:
          "The campaign's streams that have not ended (starting, live or paused), as `stream_event` " +
          'frames describe them: id, title, status, when it last went live, its playback URL, viewers of live ones, ' +
          'and `mine` for those the caller started (never who owns the others). ' +
          'Any session may read it, as any session may watch the campaign; a page that missed ' +
          'frames (`resync_required`) reads it; a stream missing from it has ended. A draft ' +
          'campaign is 404 `CAMPAIGN_NOT_FOUND` to all but editors, as an unknown slug is.',
        params: Type.Object({ slug: Slug }),
        response: { 200: VisitorLiveStreams, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      const campaign = await campaigns.get(slug)
      // A draft is not announced: to all but editors it is an unknown slug, word for word (as
      // `GET /api/campaign/{slug}`), and its streams' titles are not public either.
      if (campaignStatus(campaign) === 'draft' && !hasRole(request.principal, 'editor'))
        throw new NotFoundError(`Campaign ${slug} does not exist`, 'CAMPAIGN_NOT_FOUND')
      // The refusal the `stream.*` actions get (campaign.guard's), without their scheduling check:
      // the socket that carries `stream_event`s is open outside the window too.
      if (!hasFeature(campaign, 'streaming')) {
        throw new ForbiddenError(`The streaming feature is not enabled for ${slug}`, 'FEATURE_DISABLED')
      }
      return { streams: await live.current(slug, request.principal!) }
    },
  )
}
