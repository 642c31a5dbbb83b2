import type { IncomingMessage } from 'node:http'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify'
import { Type } from 'typebox'
import { createPeriodic } from '../../platform/periodic.js'
import { AppError, NotFoundError } from '../../platform/http/errors.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import { Slug } from '../campaign/campaign.schema.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { storageUnavailable } from './media.receive.js'
import type { MediaRow } from './media.repo.js'
import { MEDIA_STATUSES, MediaIdParams, MediaResponse, OwnMediaView } from './media.schema.js'
import { CACHE_CONTROL, FileResponses, NOT_STORED, REDIRECT_CACHE_CONTROL } from './serve.schema.js'
import type { MediaService } from './media.service.js'
import { contentDisposition, downloadName, notModified, parseRange, rangeApplies } from './range.js'
import { SWEEP_INTERVAL_MS } from './media.sweep.js'

export interface MediaRoutesOptions {
  media: MediaService
  campaigns: Pick<CampaignService, 'get'>
  /** Largest upload, so the route's own limit is known (the app's JSON bodyLimit does not apply). */
  maxBytes: number
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const ServeHeaders = Type.Object({
  // No length limit of its own (Node bounds the headers): a long multi-range list is answered in
  // full like any other (RFC 9110 §14.2 lets a server ignore Range), never refused.
  range: Type.Optional(Type.String()),
  'if-none-match': Type.Optional(Type.String({ maxLength: 4096 })),
  'if-modified-since': Type.Optional(Type.String({ maxLength: 100 })),
  'if-range': Type.Optional(Type.String({ maxLength: 4096 })),
})
const INLINE = /^(image|video|audio)\//

/**
 * Any answer of a file route but the file, its 206 and its 304 (404 for a media unknown, deleted,
 * erased or not ready yet, 416, 400, 429, 5xx) is never stored: with no Cache-Control a CDN keeps
 * a 404 for its default time, so a media that becomes ready would stay missing for that long.
 * The shared error handler leaves caching to each route (most are never cached at all), so this
 * is set here, on these routes only. The validators sent for the file go too: they describe the
 * file, not the error body.
 */
const errorsNotStored: onSendHookHandler = async (_request, reply, payload) => {
  if (reply.statusCode >= 400) {
    reply.header('cache-control', NOT_STORED).removeHeader('etag').removeHeader('last-modified')
  }
  return payload
}

export const mediaRoutes: FastifyPluginAsync<MediaRoutesOptions> = async (
  app,
  { media, campaigns, maxBytes },
) => {
  const tags = ['media']

  // Uploads a crash cut short fail, and what they left on disk goes, before the first request,
  // then periodically.
  const sweeper = createPeriodic(
    async () => {
      const swept = await media.sweep()
      if (swept.interrupted > 0) app.log.warn(swept, 'failed uploads a crash interrupted')
    },
    (err) => app.log.warn({ err }, 'cleaning up after interrupted uploads failed'),
    SWEEP_INTERVAL_MS,
  )
  app.addHook('onReady', () => sweeper.start())
  app.addHook('preClose', () => sweeper.stop())

  // Upload bodies are raw bytes streamed to storage: this scope has one parser that hands the
  // request stream through untouched, whatever the Content-Type, and no body limit of its own
  // (the signed upload carries the limit and the stream enforces it).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    scope.put(
      '/media/upload/:token',
      {
        bodyLimit: maxBytes,
        schema: {
          operationId: 'uploadMedia',
          tags,
          description:
            'PUT the bytes to the signed, expiring, single-use `upload_url` returned by `media.upload`. ' +
            '`media_event`s (uploading → processing → ready | failed) go to the uploader meanwhile. ' +
            'There is no total deadline, but a body with no byte for `HTTP_BODY_IDLE_TIMEOUT_SECONDS` ' +
            'fails the upload (408 `REQUEST_TIMEOUT`), as does one averaging under ' +
            '`HTTP_BODY_MIN_BYTES_PER_SECOND` (408 `BODY_TOO_SLOW`). When `media.upload` named a `size`, a body ' +
            'of any other size fails the upload (400 `UPLOAD_SIZE_MISMATCH`). Storage that fails while ' +
            'the bytes arrive (a bucket answering errors), or that cannot take a new file at all, fails it too ' +
            '(503 `STORAGE_UNAVAILABLE`). A `multipart/form-data` body (the file inside a form) is refused ' +
            'before the URL is used (415 `FORM_UPLOAD_NOT_ACCEPTED`): PUT the bytes themselves to it.',
          params: Type.Object({ token: Type.String({ maxLength: 200 }) }),
          response: { 200: MediaResponse, ...errors(400, 403, 404, 408, 409, 413, 415, 422, 503) },
        },
      },
      async (request) => {
        const { token } = request.params as { token: string }
        return media.receive(token, request.raw as IncomingMessage)
      },
    )
  })

  async function send(
    request: FastifyRequest,
    reply: FastifyReply,
    row: MediaRow,
    key: string,
    contentType: string,
  ) {
    const disposition = contentDisposition(
      INLINE.test(contentType) ? 'inline' : 'attachment',
      downloadName(row.filename, contentType),
    )
    if (media.storage.directUrl) {
      const method = request.method === 'HEAD' ? 'HEAD' : 'GET'
      const url = await media.storage.directUrl(key, { contentType, disposition, method })
      return reply.header('cache-control', REDIRECT_CACHE_CONTROL).redirect(url, 302)
    }
    const size = await media.storage.size(key).catch((err: unknown) => {
      throw storageUnavailable(err)
    })
    if (size === undefined) throw new NotFoundError('Media bytes are missing', 'MEDIA_NOT_FOUND')
    // A ready media never changes: its row was last written when it became ready.
    const etag = row.sha256 ? `"${row.sha256}${key.endsWith('original') ? '' : '-thumb'}"` : undefined
    if (etag) reply.header('etag', etag)
    reply.header('last-modified', row.updated_at.toUTCString()).header('cache-control', CACHE_CONTROL)
    if (notModified(request.headers, etag, row.updated_at)) return reply.status(304).send()
    reply.header('accept-ranges', 'bytes')
    // Range is defined for GET alone (RFC 9110 §14.2), and read only while an If-Range names this
    // file (§13.1.5): a HEAD, or an If-Range naming another version, is told of the whole file.
    const ranged =
      request.method === 'GET' &&
      rangeApplies(request.headers['if-range'] as string | undefined, etag, row.updated_at)
    const wanted = ranged ? parseRange(request.headers.range, size) : undefined
    if (wanted === 'unsatisfiable') {
      // Before the file's own headers are set: the answer is the JSON error body.
      throw new AppError(416, 'RANGE_NOT_SATISFIABLE', `Range is outside 0-${size - 1}`, {
        headers: { 'content-range': `bytes */${size}` },
      })
    }
    reply
      .header('content-type', contentType)
      .header('content-disposition', disposition)
      .header('x-content-type-options', 'nosniff')
    // HEAD: the headers only, the file unread.
    if (request.method === 'HEAD') return reply.header('content-length', size).send()
    if (!wanted) return reply.header('content-length', size).send(await media.storage.read(key))
    return reply
      .status(206)
      .header('content-range', `bytes ${wanted.start}-${wanted.end}/${size}`)
      .header('content-length', wanted.end - wanted.start + 1)
      .send(await media.storage.read(key, wanted))
  }

  const readyRow = async (id: string) => {
    const row = await media.get(id)
    if (row.status !== 'ready' || !row.content_type)
      throw new NotFoundError('No such media', 'MEDIA_NOT_FOUND')
    return row
  }

  const original = async (request: FastifyRequest, reply: FastifyReply) => {
    const row = await readyRow((request.params as { id: string }).id)
    return send(request, reply, row, row.storage_key, row.content_type!)
  }
  const thumbnail = async (request: FastifyRequest, reply: FastifyReply) => {
    const row = await readyRow((request.params as { id: string }).id)
    if (!row.thumbnail_key) throw new NotFoundError('This media has no thumbnail', 'MEDIA_NOT_FOUND')
    return send(request, reply, row, row.thumbnail_key, 'image/webp')
  }
  // HEAD routes of their own: Fastify's automatic ones run the GET handler and read the stream.
  for (const method of ['GET', 'HEAD'] as const) {
    const head = method === 'HEAD'
    app.route({
      method,
      url: '/media/:id',
      exposeHeadRoute: false,
      onSend: errorsNotStored,
      schema: {
        operationId: head ? 'headMedia' : 'getMedia',
        tags,
        description:
          'The uploaded bytes, with Range support (206/416) and conditional requests (304). An ' +
          'image is served without the metadata it was uploaded with (EXIF, GPS position, XMP). ' +
          'Caches keep the file but revalidate it before each use (`Cache-Control: public, no-cache`, ' +
          'with `ETag` and `Last-Modified`), so a deleted one stops being served at once; errors and ' +
          'the S3 redirect are never kept.',
        params: IdParams,
        headers: ServeHeaders,
        response: FileResponses,
      },
      handler: original,
    })
    app.route({
      method,
      url: '/media/:id/thumbnail',
      exposeHeadRoute: false,
      onSend: errorsNotStored,
      schema: {
        operationId: head ? 'headMediaThumbnail' : 'getMediaThumbnail',
        tags,
        params: IdParams,
        headers: ServeHeaders,
        response: FileResponses,
      },
      handler: thumbnail,
    })
  }

  app.get(
    '/api/media/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getOwnMedia',
        tags,
        security: SecuredBy,
        description:
          'Where an upload stands, for whoever uploaded it (the session that asked for its URL, or ' +
          'the user, who also reads what they uploaded as a guest of a session they joined or logged in ' +
          'from): what its `media_event`s say (status, `reason` once failed, `url` and ' +
          '`thumbnail_url` once ready). 404 `MEDIA_NOT_FOUND` for anyone else, and once it is ' +
          'deleted or its uploader erased. A page that missed `media_event`s (after ' +
          '`resync_required`) reads it here.',
        params: MediaIdParams,
        response: { 200: OwnMediaView, ...errors(400, 401, 404) },
      },
    },
    async (request) => media.own((request.params as { id: string }).id, request.principal!),
  )

  app.get(
    '/api/campaign/:slug/media',
    {
      onRequest: app.requireRole('editor'),
      schema: {
        operationId: 'listCampaignMedia',
        tags,
        security: SecuredBy,
        description:
          "The campaign's media, newest first; page with `before` (the last media_id you saw), pick a " +
          '`status` (e.g. `failed`).',
        params: Type.Object({ slug: Slug }),
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          before: Type.Optional(MediaIdParams.properties.id),
          status: Type.Optional(Type.Union(MEDIA_STATUSES.map((s) => Type.Literal(s)))),
        }),
        response: {
          200: Type.Object({ media: Type.Array(MediaResponse) }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug } = request.params as { slug: string }
      await campaigns.get(slug)
      return { media: await media.list(slug, request.query as Parameters<MediaService['list']>[1]) }
    },
  )

  app.delete(
    '/api/campaign/:slug/media/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'deleteCampaignMedia',
        tags,
        security: SecuredBy,
        description:
          'Deletes a media (its uploader, from the session it came from or as the user, also for ' +
          'their guest uploads from a session they joined or logged in from; or an editor): its bytes go and its storage quota is freed. An unused upload URL stops ' +
          'working; an upload still arriving is refused when it ends. Storage that fails to remove ' +
          'the bytes (a bucket answering errors) is 503 `STORAGE_UNAVAILABLE`, the media kept: retry.',
        params: Type.Object({ slug: Slug, id: IdParams.properties.id }),
        response: { 204: Type.Null(), ...errors(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { slug, id } = request.params as { slug: string; id: string }
      await media.remove(slug, id, request.principal!)
      return reply.status(204).send()
    },
  )
}
