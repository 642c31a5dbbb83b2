import { Readable } from 'node:stream'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { SecuredBy } from '../../platform/http/schemas.js'
import { csvLines, csvObjects } from './csv.js'
import { statusAlias } from './stream.input.js'
import { normalizeLink } from './stream.links.js'
import type { StreamFilters } from './stream.repo.js'
import { StreamBody, StreamInput, StreamJson, V1Error as V1ErrorSchema } from './stream.schema.js'
import { invalid, notFound } from './v1.errors.js'
import { requireV1, V1_ROUTE_CONFIG, type V1Options } from './v1.plugin.js'

const tags = ['streamsource']
const security = SecuredBy
const err = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, V1ErrorSchema]))
const Meta = Type.Object({
  current_page: Type.Integer(),
  total_pages: Type.Integer(),
  total_count: Type.Integer(),
  per_page: Type.Integer(),
})
/** One stream: `{stream}` as StreamSource answers, with the fields also at top level for older clients. */
const OneStream = Type.Object({ ...StreamJson.properties, stream: StreamJson })
const IdParams = Type.Object({ id: Type.String({ maxLength: 20 }) })
const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 32 })),
  notStatus: Type.Optional(Type.String({ maxLength: 32 })),
  user_id: Type.Optional(Type.String({ maxLength: 20 })),
  is_pinned: Type.Optional(Type.String({ maxLength: 5 })),
  pinned: Type.Optional(Type.String({ maxLength: 5, description: 'Alias of is_pinned' })),
  is_archived: Type.Optional(Type.String({ maxLength: 5 })),
  link: Type.Optional(Type.String({ maxLength: 2048 })),
  url: Type.Optional(Type.String({ maxLength: 2048, description: 'Alias of link' })),
  platform: Type.Optional(Type.String({ maxLength: 32 })),
  search: Type.Optional(Type.String({ maxLength: 200 })),
  sort: Type.Optional(Type.String({ maxLength: 16 })),
  page: Type.Optional(Type.String({ maxLength: 10 })),
  per_page: Type.Optional(Type.String({ maxLength: 10 })),
  format: Type.Optional(Type.String({ maxLength: 8 })),
})
type ListQuery = Record<string, string | undefined>
const ItemResult = Type.Object({
  index: Type.Integer(),
  id: Type.Optional(Type.Integer()),
  link: Type.Optional(Type.String()),
  success: Type.Boolean(),
  status: Type.Enum(['created', 'duplicate', 'updated', 'error']),
  stream: Type.Optional(StreamJson),
  error: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
})
const BatchItem = Type.Object({ ...StreamInput.properties, id: Type.Optional(Type.Integer({ minimum: 1 })) })
const MAX_ITEMS = 1000
const EXPORT_COLUMNS = [
  'id',
  'link',
  'status',
  'platform',
  'title',
  'source',
  'city',
  'state',
  'notes',
  'posted_by',
  'orientation',
  'kind',
  'is_pinned',
  'is_archived',
  'last_checked_at',
  'last_live_at',
  'created_at',
  'updated_at',
] as const

function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false
  throw invalid({ [field]: ['must be true or false'] })
}

function positive(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw invalid({ [field]: ['must be a positive integer'] })
  return Number(value)
}

/** Query string → repository filters; every filter of StreamSource's index. */
function filters(q: ListQuery): StreamFilters {
  const link = q.link ?? q.url
  let normalizedLink: string | undefined
  if (link !== undefined) {
    // A link that cannot be normalised matches nothing rather than everything.
    normalizedLink = normalizeLink(link) ?? `invalid:${link}`
  }
  const sort = q.sort as StreamFilters['sort']
  // A checker filters by the status words it writes (`online`, `checking`…), stored as their alias.
  const status = (s: string | undefined) => {
    const lower = s?.trim().toLowerCase()
    return lower ? (statusAlias(lower) ?? lower) : undefined
  }
  return {
    status: status(q.status),
    notStatus: status(q.notStatus),
    userId: positive(q.user_id, 'user_id'),
    isPinned: bool(q.is_pinned ?? q.pinned, 'is_pinned'),
    isArchived: bool(q.is_archived, 'is_archived'),
    normalizedLink,
    platform: q.platform?.toLowerCase() || undefined,
    search: q.search?.trim() || undefined,
    sort: sort && ['name', '-name', 'created', '-created'].includes(sort) ? sort : undefined,
  }
}

const id = (request: FastifyRequest) => {
  const raw = (request.params as { id: string }).id
  if (!/^\d{1,15}$/.test(raw)) throw notFound()
  return Number(raw)
}
const one = (stream: StreamJson) => ({ ...stream, stream })

export const streamRoutes: FastifyPluginAsync<V1Options> = async (app, { streams }) => {
  const route = { config: V1_ROUTE_CONFIG, preHandler: requireV1 }

  // Bulk import accepts CSV as well as JSON.
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  )

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
      const page = positive(q.page, 'page') ?? 1
      const perPage = Math.min(100, positive(q.per_page, 'per_page') ?? 25)
      const result = await streams.list(filters(q), page, perPage)
      return q.format === 'array' ? result.streams : result
    },
  )

  app.get(
    '/streams/export',
    {
      ...route,
      schema: {
        operationId: 'streamSourceExportStreams',
        tags,
        security,
        description:
          'Every stream matching the list filters, in the list order, as CSV (`format=csv`) or JSON ' +
          '(`{exported_at, streams, count}`); streamed, whatever the size.',
        querystring: ListQuery,
        response: { 200: Type.Unknown(), ...err(401, 422, 429) },
      },
    },
    async (request, reply) => {
      const q = request.query as ListQuery
      const pages = streams.exportPages(filters(q))
      // The first page is read before the answer starts, so a failure there is still an error
      // answer; later pages stream as the client takes them (a failure then cuts the download).
      const first = await pages.next()
      async function* all() {
        if (first.done) return
        yield first.value
        yield* pages
      }
      const now = new Date().toISOString()
      const stamp = now.slice(0, 10)
      const csv = q.format === 'csv'
      return reply
        .type(csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="streams-${stamp}.${csv ? 'csv' : 'json'}"`)
        .send(Readable.from(csv ? csvChunks(all()) : jsonChunks(all(), now), { objectMode: false }))
    },
  )

  app.post(
    '/streams/import',
    {
      ...route,
      schema: {
        operationId: 'streamSourceImportStreams',
        tags,
        security,
        description:
          'JSON `{streams:[…]}` / `[…]`, or CSV with a header row. Duplicates return the existing stream; ' +
          'bad rows are reported without failing the others.',
        body: Type.Union([
          Type.String({ description: 'CSV' }),
          Type.Array(StreamInput, { maxItems: MAX_ITEMS }),
          Type.Object({ streams: Type.Array(StreamInput, { maxItems: MAX_ITEMS }) }),
        ]),
        response: {
          200: Type.Object({
            created: Type.Integer(),
            duplicates: Type.Integer(),
            failed: Type.Integer(),
            results: Type.Array(ItemResult),
          }),
          ...err(401, 403, 422, 429),
        },
      },
    },
    async (request) => {
      const body = request.body as string | StreamInput[] | { streams: StreamInput[] }
      const items: StreamInput[] =
        typeof body === 'string'
          ? csvObjects(body).map((r) =>
              Object.fromEntries(
                Object.entries(r).filter(([k, v]) => v !== '' && Object.hasOwn(StreamInput.properties, k)),
              ),
            )
          : Array.isArray(body)
            ? body
            : body.streams
      if (items.length > MAX_ITEMS) throw invalid({ streams: [`must have at most ${MAX_ITEMS} items`] })
      const results = await streams.importMany(request.v1!, items.map(normaliseCsvBooleans))
      return {
        created: results.filter((r) => r.status === 'created').length,
        duplicates: results.filter((r) => r.status === 'duplicate').length,
        failed: results.filter((r) => !r.success).length,
        results,
      }
    },
  )

  app.patch(
    '/streams/batch',
    {
      ...route,
      schema: {
        operationId: 'streamSourceBatchUpdate',
        tags,
        security,
        description: 'Each item names a stream by `id` or `link`; answered per item.',
        body: Type.Union([
          Type.Array(BatchItem, { maxItems: MAX_ITEMS }),
          Type.Object({ streams: Type.Array(BatchItem, { maxItems: MAX_ITEMS }) }),
          Type.Object({ updates: Type.Array(BatchItem, { maxItems: MAX_ITEMS }) }),
        ]),
        response: {
          200: Type.Object({
            updated: Type.Integer(),
            failed: Type.Integer(),
            results: Type.Array(ItemResult),
          }),
          ...err(401, 422, 429),
        },
      },
    },
    async (request) => {
      const body = request.body as any
      const items = Array.isArray(body) ? body : (body.streams ?? body.updates)
      const results = await streams.batch(request.v1!, items)
      return {
        updated: results.filter((r) => r.success).length,
        failed: results.filter((r) => !r.success).length,
        results,
      }
    },
  )

  app.post(
    '/streams',
    {
      ...route,
      schema: {
        operationId: 'streamSourceCreateStream',
        tags,
        security,
        description: 'An already known link (after normalisation) answers the existing stream with 200.',
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
        response: { 200: OneStream, ...err(401, 403, 404, 422, 429) },
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
        response: { 204: Type.Null(), ...err(401, 403, 404, 429) },
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

/** The export as CSV: the header, then a chunk per page. */
async function* csvChunks(pages: AsyncIterable<StreamJson[]>): AsyncGenerator<string> {
  yield `${EXPORT_COLUMNS.join(',')}\r\n`
  for await (const rows of pages)
    yield csvLines(EXPORT_COLUMNS, rows as unknown as Array<Record<string, unknown>>)
}

/** The export as JSON, `{exported_at, streams, count}` as StreamSource answers: the count comes last, once known. */
async function* jsonChunks(pages: AsyncIterable<StreamJson[]>, exportedAt: string): AsyncGenerator<string> {
  yield `{"exported_at":${JSON.stringify(exportedAt)},"streams":[`
  let count = 0
  for await (const rows of pages) {
    if (rows.length === 0) continue
    yield `${count > 0 ? ',' : ''}${rows.map((r) => JSON.stringify(r)).join(',')}`
    count += rows.length
  }
  yield `],"count":${count}}`
}

/**
 * CSV cells are strings; the boolean columns' usual spellings become booleans so the same
 * validation applies (anything else stays a string, and is refused for that row).
 */
function normaliseCsvBooleans(item: StreamInput): StreamInput {
  const out: Record<string, unknown> = { ...item }
  for (const k of ['is_pinned', 'is_archived'] as const) {
    const v = out[k]
    if (typeof v !== 'string') continue
    if (['true', '1', 'yes'].includes(v.trim().toLowerCase())) out[k] = true
    else if (['false', '0', 'no'].includes(v.trim().toLowerCase())) out[k] = false
  }
  return out as StreamInput
}
