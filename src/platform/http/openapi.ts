/**
 * The OpenAPI document's `head` operations. Every `GET` route answers `HEAD` too (Fastify's
 * `exposeHeadRoutes`, or a `HEAD` route of its own, as the media files have), and a client may
 * rely on it (a link checker, a download manager asking a file's size), so the document lists
 * them. `@fastify/swagger` (with `exposeHeadRoutes`) copies each as its `GET` is, body and all;
 * this makes them what a `HEAD` answers.
 */

type Json = Record<string, unknown>
type Operation = {
  operationId?: string
  description?: string
  parameters?: Array<{ in?: string; name?: string }>
  responses?: Record<string, Json>
}

/**
 * Range is defined for `GET` alone (RFC 9110 §14.2): a `HEAD` answers no 206 or 416, and its
 * `Range` and `If-Range` are not read.
 */
const GET_ONLY = ['206', '416']
const GET_ONLY_HEADERS = ['range', 'if-range']

const SAID = 'The status and headers `GET` answers with, without its body (RFC 9110 §9.3.2).'

/**
 * An id of its own for a `HEAD` operation (operation ids are unique in a document):
 * `getCampaign` → `headCampaign`, `listCampaigns` → `headListCampaigns`; a route of its own
 * already named `headMedia` keeps it. `@fastify/swagger` suffixes `-head`, which generated
 * clients cannot use as a method name.
 */
function headOperationId(id: string, taken: Set<string>): string {
  const base = id.endsWith('-head') ? id.slice(0, -'-head'.length) : id
  const named = /^head[A-Z]/.test(base)
    ? base
    : /^get[A-Z]/.test(base)
      ? `head${base.slice(3)}`
      : `head${base.charAt(0).toUpperCase()}${base.slice(1)}`
  return taken.has(named) ? `${base}Head` : named
}

/** A `HEAD` answer: `GET`'s headers and `Content-Length`, never a body (no `content`). */
function headResponses(responses: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {}
  for (const [status, response] of Object.entries(responses)) {
    if (GET_ONLY.includes(status)) continue
    const { content: _body, ...rest } = response
    if (status === '200') {
      const headers = { ...((rest.headers as Json | undefined) ?? {}) }
      headers['content-length'] ??= {
        description: 'The length of the body `GET` would send',
        schema: { type: 'integer', minimum: 0 },
      }
      rest.headers = headers
    }
    out[status] = rest
  }
  return out
}

/**
 * `@fastify/swagger`'s `transformObject`: each `head` operation answered as a `HEAD` is. Applied
 * once to the built document (it is cached), which `/docs/openapi.json` and `/docs/json` serve.
 */
export function headOperations<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Operation>> }).paths ?? {}
  const taken = new Set<string>()
  for (const item of Object.values(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method !== 'head' && op?.operationId) taken.add(op.operationId)
    }
  }
  for (const item of Object.values(paths)) {
    const head = item.head
    if (!head) continue
    const op: Operation = { ...head }
    if (op.operationId) {
      op.operationId = headOperationId(op.operationId, taken)
      taken.add(op.operationId)
    }
    op.description = op.description ? `${SAID} ${op.description}` : SAID
    if (op.parameters) {
      op.parameters = op.parameters.filter(
        (p) => !(p.in === 'header' && GET_ONLY_HEADERS.includes(String(p.name).toLowerCase())),
      )
    }
    if (op.responses) op.responses = headResponses(op.responses)
    item.head = op
  }
  return document
}
