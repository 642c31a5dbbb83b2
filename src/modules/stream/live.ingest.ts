import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import {
  ForbiddenError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../../platform/http/errors.js'
import { errors } from '../../platform/http/schemas.js'
import { hasFeature } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import type { LiveStreams } from './live.service.js'
import type { RateLimiter } from './ratelimit.js'
import type { StreamRow } from './stream.repo.js'

export interface IngestRoutesOptions {
  live: Pick<LiveStreams, 'publisher' | 'playable' | 'named' | 'publishDone' | 'endAll'>
  campaigns: Pick<CampaignService, 'get'>
  limiter: RateLimiter
  config: Pick<Config, 'STREAM_INGEST_AUTH_SECRET' | 'STREAM_INGEST_AUTH_FAILURES_PER_MINUTE'>
}

const tags = ['stream']
const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * The media server's side of campaign live streams: it asks, when a publisher connects, whether
 * the key it brought names a stream that has not ended (and the campaign still streams), and
 * tells when the publisher left. nginx-rtmp (`on_publish`, `on_update`, `on_publish_done`,
 * `on_play`: one URL, told apart by `call`) and MediaMTX (`authHTTPAddress`).
 *
 * Only the media server calls these: each request carries `STREAM_INGEST_AUTH_SECRET` (query
 * `secret`, as nginx-rtmp can only put it in the URL, or header `X-Ingest-Secret`); unset, they
 * answer 503 `INGEST_AUTH_DISABLED`. Refusals are counted per client network (a wrong secret: the
 * caller's; a refused key: the publisher's address the media server reports, so one guesser does
 * not lock every publisher of the media server out) and past
 * `STREAM_INGEST_AUTH_FAILURES_PER_MINUTE` a minute every attempt from there is 429.
 */
export function registerIngestRoutes(app: FastifyInstance, options: IngestRoutesOptions): void {
  const { live, campaigns, limiter, config } = options
  const limit = config.STREAM_INGEST_AUTH_FAILURES_PER_MINUTE
  const expected = config.STREAM_INGEST_AUTH_SECRET ? digest(config.STREAM_INGEST_AUTH_SECRET) : undefined

  // nginx-rtmp posts its notifications as a form; only these routes read one.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  /** Spends one of the network's attempts; `ok` gives it back, so only refusals count. */
  async function attempt(network: string) {
    const key = `ingest-auth:${network}`
    const decision = await limiter.hit(key, limit)
    if (!decision.allowed) {
      throw new TooManyRequestsError(
        decision.retryAfter,
        'Too many refused ingest authorisations from this network',
        'INGEST_RATE_LIMITED',
      )
    }
    return { ok: () => limiter.refund(key, decision) }
  }

  /** The shared secret, compared in constant time; counted against the caller when wrong. */
  async function authenticate(request: FastifyRequest) {
    if (!expected) {
      throw new ServiceUnavailableError(
        'Ingest authorisation is not configured: set STREAM_INGEST_AUTH_SECRET',
        'INGEST_AUTH_DISABLED',
      )
    }
    const header = request.headers['x-ingest-secret']
    const query = (request.query as Record<string, unknown> | undefined)?.secret
    const given = typeof header === 'string' ? header : typeof query === 'string' ? query : ''
    const caller = await attempt(clientNetwork(request.ip))
    if (!timingSafeEqual(digest(given), expected))
      throw new UnauthorizedError('Ingest secret missing or wrong', 'INGEST_SECRET_INVALID')
    await caller.ok()
  }

  const refused = () => new ForbiddenError('No open stream has this key', 'STREAM_KEY_REFUSED')
  const notPlayable = () => new ForbiddenError('No open stream has this id', 'STREAM_NOT_LIVE')

  /**
   * Whether the row's campaign still streams. One that turned `streaming` off strands no stream:
   * its open streams end here (if the change's own hook has not ended them yet) and the publisher
   * is refused.
   */
  async function streaming(request: FastifyRequest, row: StreamRow) {
    const slug = row.campaign_slug!
    if (hasFeature(await campaigns.get(slug), 'streaming')) return true
    await live.endAll(slug, later(request))
    return false
  }

  /**
   * A publisher's key (counted against its address, as the media server reports it, when
   * refused): its open stream, or 403. `path`: the stream id the publisher named beside its key, if
   * any, which must be the key's own stream.
   */
  async function publish(request: FastifyRequest, key: string, address: string, path?: number) {
    const counted = await attempt(clientNetwork(address.slice(0, 64) || request.ip))
    const row = await live.publisher(key)
    if (!row || (path !== undefined && path !== Number(row.id)) || !(await streaming(request, row)))
      throw refused()
    await counted.ok()
    return row
  }

  /** A player's stream id: its open stream (the campaign still streaming), or 403. */
  async function play(request: FastifyRequest, id: string) {
    const row = await live.playable(id)
    if (!row || !(await streaming(request, row))) throw notPlayable()
    return row
  }

  const Refusal = errors(401, 403, 429, 503)

  app.post(
    '/api/streams/ingest/nginx-rtmp',
    {
      // The secret before anything else: the body is neither parsed nor checked for a stranger.
      onRequest: authenticate,
      schema: {
        operationId: 'nginxRtmpIngestNotify',
        tags,
        description:
          'nginx-rtmp notifications (form posts; `?secret=` the ingest secret). `call=publish`: the stream ' +
          "key (`name`) of a stream that has not ended is 302 with `Location: <stream_id>` (nginx-rtmp's " +
          "local rename, so HLS is written under the stream id, as STREAM_PLAYBACK_URL_TEMPLATE's " +
          '`{stream_id}` expects); an unknown or ended key, or a campaign without `streaming`, is 403. ' +
          '`call=update`: 200 while the stream (its id, or key) has not ended, else 403 (the publisher ' +
          'is dropped). `call=publish_done`: a live stream is paused (`stream_event` status), 200. ' +
          '`call=play`: 200 for an open stream id, else 403. Any other call: 200.',
        querystring: Type.Object({ secret: Type.Optional(Type.String()) }),
        body: Type.Object({
          call: Type.String(),
          name: Type.Optional(Type.String()),
          addr: Type.Optional(Type.String()),
        }),
        response: { ...Refusal },
      },
    },
    async (request, reply) => {
      const { call, name = '', addr = '' } = request.body as { call: string; name?: string; addr?: string }
      switch (call) {
        case 'publish': {
          const row = await publish(request, name, addr)
          return reply.code(302).header('location', String(row.id)).send()
        }
        case 'update': {
          const row = await live.named(name)
          if (!row || !(await streaming(request, row))) throw refused()
          return reply.code(200).send()
        }
        case 'publish_done': {
          const row = await live.named(name)
          if (row) await live.publishDone(row, later(request))
          return reply.code(200).send()
        }
        case 'play':
          await play(request, name)
          return reply.code(200).send()
        default:
          return reply.code(200).send()
      }
    },
  )

  app.post(
    '/api/streams/ingest/mediamtx',
    {
      onRequest: authenticate,
      schema: {
        operationId: 'mediamtxIngestAuth',
        tags,
        description:
          'MediaMTX external HTTP authentication (`authHTTPAddress`, with `?secret=` the ingest secret). ' +
          '`action:"publish"`: the stream key is the `key` query parameter, else the password, else the ' +
          "path's last segment (with the key elsewhere, a numeric last segment must be the stream's id): 200 " +
          'for a stream that has not ended, else 403. `action:"read"` or `"playback"`: the path\'s last ' +
          'segment is a stream id, 200 while that stream has not ended, else 403. Any other action: 403.',
        querystring: Type.Object({ secret: Type.Optional(Type.String()) }),
        body: Type.Object({
          action: Type.String(),
          path: Type.Optional(Type.String()),
          user: Type.Optional(Type.String()),
          password: Type.Optional(Type.String()),
          ip: Type.Optional(Type.String()),
          query: Type.Optional(Type.String()),
        }),
        response: { ...Refusal },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        action: string
        path?: string
        password?: string
        ip?: string
        query?: string
      }
      const last = (body.path ?? '').split('/').filter(Boolean).pop() ?? ''
      if (body.action === 'publish') {
        const fromQuery = new URLSearchParams(body.query ?? '').get('key')
        const key = fromQuery || body.password || last
        // A key given beside the path publishes only to its own stream's path.
        const path = key !== last && /^[0-9]{1,15}$/.test(last) ? Number(last) : undefined
        await publish(request, key, body.ip ?? '', path)
        return reply.code(200).send()
      }
      if (body.action === 'read' || body.action === 'playback') {
        await play(request, last)
        return reply.code(200).send()
      }
      throw new ForbiddenError(`Action ${body.action} is not allowed`, 'INGEST_ACTION_REFUSED')
    },
  )
}

/** A lifecycle step's `stream_event`s, sent once it is stored; a bus refusing them is logged. */
function later(request: FastifyRequest) {
  return (announce: () => Promise<void>) => {
    announce().catch((err) => request.log.warn({ err }, 'stream_event not published'))
  }
}
