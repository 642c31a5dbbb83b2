import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { StreamBody, type StreamInput, StreamJson } from './stream.schema.js'
import type { V1Options } from './v1.plugin.js'
import { registerBulkStreamRoutes } from './v1.streams.bulk.js'
import {
  answerFormat,
  err,
  filters,
  IdParams,
  id,
  ListQuery,
  positive,
  route as v1Route,
  security,
  tags,
} from './v1.streams.params.js'

const Meta = Type.Object({
  current_page: Type.Integer(),
  total_pages: Type.Integer(),
  total_count: Type.Integer(),
  per_page: Type.Integer(),
})
/** One stream: `{stream}` as StreamSource answers, with the fields also at top level for older clients. */
const OneStream = Type.Object({ ...StreamJson.properties, stream: StreamJson })
const one = (stream: StreamJson) => ({ ...stream, stream })

/** The stream registry: the list, one stream's reads and writes, and (v1.streams.bulk.ts) many at once. */
export const streamRoutes: FastifyPluginAsync<V1Options> = async (app, { streams }) => {
  const route = v1Route()

  app.get(
    '/streams',
    {
      ...route,
      schema: {
        operationId: 'streamSourceListStreams',
        tags,
        security,
        description: 'Pinned first, then newest. `format=array` answers the bare array wall displays poll.',
        querystring: ListQuery,
        response: {
          200: Type.Union([
            Type.Object({ streams: Type.Array(StreamJson), meta: Meta }),
            Type.Array(StreamJson),
          ]),
          ...err(401, 422, 429),
        },
      },
    },
    async (request) => {
      const q = request.query as ListQuery
      const format = answerFormat(q.format, ['json', 'array'])
      const page = positive(q.page, 'page') ?? 1
      const perPage = Math.min(100, positive(q.per_page, 'per_page') ?? 25)
      const result = await streams.list(filters(q), page, perPage)
      return format === 'array' ? result.streams : result
    },
  )

  registerBulkStreamRoutes(app, streams)

  app.post(
    '/streams',
    {
      ...route,
      schema: {
        operationId: 'streamSourceCreateStream',
        tags,
        security,
        description:
          'An already known link (after normalisation) answers the existing stream with 200; an archived ' +
          'one is unarchived first (and announced `created` on `/cable`).',
        body: StreamBody,
        response: { 200: OneStream, 201: OneStream, ...err(401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body as StreamBodyValue
      const { stream, created } = await streams.create(request.v1!, body.stream ?? body)
      return reply.status(created ? 201 : 200).send(one(stream))
    },
  )

  app.get(
    '/streams/:id',
    {
      ...route,
      schema: {
        operationId: 'streamSourceGetStream',
        tags,
        security,
        params: IdParams,
        response: { 200: OneStream, ...err(401, 404, 429) },
      },
    },
    async (request) => one(await streams.get(id(request))),
  )

  for (const method of ['PATCH', 'PUT'] as const) {
    app.route({
      method,
      url: '/streams/:id',
      ...route,
      schema: {
        operationId: method === 'PATCH' ? 'streamSourceUpdateStream' : 'streamSourceReplaceStream',
        tags,
        security,
        params: IdParams,
        body: StreamBody,
        description:
          'A campaign live stream that has not ended is 409 `LIVE_STREAM_OPEN`: it is ended in its campaign first.',
        response: { 200: OneStream, ...err(401, 403, 404, 409, 422, 429) },
      },
      handler: async (request) => {
        const body = request.body as StreamBodyValue
        return one(await streams.update(request.v1!, id(request), body.stream ?? body))
      },
    })
  }

  app.delete(
    '/streams/:id',
    {
      ...route,
      schema: {
        operationId: 'streamSourceDeleteStream',
        tags,
        security,
        params: IdParams,
        description:
          'A campaign live stream that has not ended is 409 `LIVE_STREAM_OPEN`: it is ended in its campaign first.',
        response: { 204: Type.Null(), ...err(401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      await streams.remove(request.v1!, id(request))
      return reply.status(204).send()
    },
  )

  const toggles = [
    [
      'PUT',
      '/streams/:id/pin',
      'streamSourcePinStream',
      (r: FastifyRequest) => streams.setPinned(r.v1!, id(r), true),
    ],
    [
      'DELETE',
      '/streams/:id/pin',
      'streamSourceUnpinStream',
      (r: FastifyRequest) => streams.setPinned(r.v1!, id(r), false),
    ],
    [
      'POST',
      '/streams/:id/archive',
      'streamSourceArchiveStream',
      (r: FastifyRequest) => streams.setArchived(r.v1!, id(r), true),
    ],
    [
      'POST',
      '/streams/:id/unarchive',
      'streamSourceUnarchiveStream',
      (r: FastifyRequest) => streams.setArchived(r.v1!, id(r), false),
    ],
  ] as const
  for (const [method, url, operationId, run] of toggles) {
    app.route({
      method,
      url,
      ...route,
      schema: {
        operationId,
        tags,
        security,
        params: IdParams,
        response: { 200: OneStream, ...err(401, 403, 404, 429) },
      },
      handler: async (request) => one(await run(request)),
    })
  }
}

type StreamBodyValue = StreamInput & { stream?: StreamInput }
