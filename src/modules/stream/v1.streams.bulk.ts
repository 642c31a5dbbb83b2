import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { csvLines, csvObjects } from './csv.js'
import { StreamInput, StreamJson } from './stream.schema.js'
import type { StreamService } from './stream.service.js'
import { invalid } from './v1.errors.js'
import {
  answerFormat,
  err,
  filters,
  ListQuery,
  route as v1Route,
  security,
  tags,
} from './v1.streams.params.js'

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
/**
 * Items are checked one by one (stream.input.ts), not by the body schema: a wrong type in one
 * item failed the whole request with 422, while a bad item must fail only itself.
 */
const ImportItem = Type.Unknown({
  description: 'A stream as `POST /streams` takes it (`StreamInput`); checked on its own',
})
const BatchItem = Type.Unknown({
  description: 'A stream by `id` (or `link`) and the fields to change (`StreamInput`); checked on its own',
})
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

/** Many streams at once: export (CSV or JSON, streamed), import (JSON or CSV) and batch update. */
export function registerBulkStreamRoutes(app: FastifyInstance, streams: StreamService): void {
  const route = v1Route()

  // Bulk import accepts CSV as well as JSON.
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, csvText(body as Buffer, req.headers['content-type']))
    } catch (err) {
      done(err as Error)
    }
  })

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
      const csv = answerFormat(q.format, ['json', 'csv']) === 'csv'
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
          Type.Array(ImportItem, { maxItems: MAX_ITEMS }),
          Type.Object({ streams: Type.Array(ImportItem, { maxItems: MAX_ITEMS }) }),
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
      const body = request.body as string | unknown[] | { streams: unknown[] }
      const items: unknown[] =
        typeof body === 'string'
          ? csvObjects(body).map((r) =>
              normaliseCsvBooleans(
                Object.fromEntries(
                  Object.entries(r).filter(([k, v]) => v !== '' && Object.hasOwn(StreamInput.properties, k)),
                ),
              ),
            )
          : Array.isArray(body)
            ? body
            : body.streams
      if (items.length > MAX_ITEMS) throw invalid({ streams: [`must have at most ${MAX_ITEMS} items`] })
      const results = await streams.importMany(request.v1!, items)
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
}

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

/** Windows-1252's characters for the bytes 0x80–0x9F (its five unassigned ones stay controls). */
const CP1252_80_9F = [...'€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ']

/**
 * A CSV body as text, in the charset its Content-Type names (a spreadsheet's plain "CSV" is
 * Windows-1252), UTF-8 when it names none. Bytes that are not text in that charset are refused:
 * read loosely, `Zürich` from Windows-1252 was stored as `Z\uFFFDrich` and reported imported.
 */
function csvText(body: Buffer, contentType: string | undefined): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1] ?? 'utf-8'
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset, { fatal: true })
  } catch {
    throw invalid({ body: [`is in charset ${charset.slice(0, 40)}, which is not supported`] })
  }
  try {
    const text = decoder.decode(body)
    // Node's windows-1252 decoder reads 0x80–0x9F as Latin-1 controls, not `€`, `’`, `–`…
    return decoder.encoding === 'windows-1252'
      ? text.replace(/[\u0080-\u009f]/g, (c) => CP1252_80_9F[c.charCodeAt(0) - 0x80]!)
      : text
  } catch {
    const name = decoder.encoding === 'utf-8' ? 'UTF-8' : decoder.encoding
    throw invalid({
      body: [
        `is not valid ${name} text (name the file's charset in Content-Type, e.g. text/csv; charset=windows-1252)`,
      ],
    })
  }
}

/**
 * CSV cells are strings; the boolean columns' usual spellings become booleans so the same
 * validation applies (anything else stays a string, and is refused for that row).
 */
function normaliseCsvBooleans(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...item }
  for (const k of ['is_pinned', 'is_archived'] as const) {
    const v = out[k]
    if (typeof v !== 'string') continue
    if (['true', '1', 'yes'].includes(v.trim().toLowerCase())) out[k] = true
    else if (['false', '0', 'no'].includes(v.trim().toLowerCase())) out[k] = false
  }
  return out
}
