import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { errors, SecuredBy } from '../platform/http/schemas.js'
import { type AmadeusService, SNAPSHOT_RETAIN } from './amadeus.service.js'
import type { AsyncApiOptions } from './asyncapi.js'
import { generateAsyncApi } from './asyncapi.js'
import type { EventSchemaRegistry } from './event-schemas.js'
import {
  ExportDocument,
  GraphDiff,
  GraphEdge,
  GraphNode,
  LiveNode,
  type NodeType,
  NodeTypeSchema,
} from './graph.schema.js'

export interface AmadeusRouteOptions {
  amadeus: AmadeusService
  eventSchemas: EventSchemaRegistry
  asyncapi: AsyncApiOptions
}

const tags = ['amadeus']
const NodeRef = Type.String({ minLength: 1, maxLength: 300 })
const ImpactEntry = Type.Object({ node: GraphNode, distance: Type.Integer(), path: Type.Array(GraphEdge) })
const Problem = Type.Object({ code: Type.String(), subject: Type.String(), message: Type.String() })

/** The service graph for operators (admin only) and the generated AsyncAPI document (public). */
export const amadeusRoutes: FastifyPluginAsync<AmadeusRouteOptions> = async (app, opts) => {
  const { amadeus } = opts
  const admin = { onRequest: app.requireRole('admin') }

  app.get(
    '/api/amadeus/graph',
    {
      ...admin,
      schema: {
        operationId: 'getServiceGraph',
        summary: 'The live service graph (optionally only nodes of one type and their edges)',
        tags,
        security: SecuredBy,
        querystring: Type.Object({ type: Type.Optional(NodeTypeSchema) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            hash: Type.String(),
            nodes: Type.Array(LiveNode),
            edges: Type.Array(GraphEdge),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => amadeus.liveFiltered((request.query as { type?: NodeType }).type),
  )

  app.get(
    '/api/amadeus/node/:id',
    {
      ...admin,
      schema: {
        operationId: 'getServiceGraphNode',
        summary: 'One node (by id or unambiguous name) with its edges and neighbours',
        tags,
        security: SecuredBy,
        params: Type.Object({ id: NodeRef }),
        response: {
          200: Type.Object({
            node: LiveNode,
            outgoing: Type.Array(GraphEdge),
            incoming: Type.Array(GraphEdge),
            neighbours: Type.Array(LiveNode),
          }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => amadeus.node((request.params as { id: string }).id),
  )

  app.get(
    '/api/amadeus/impact',
    {
      ...admin,
      schema: {
        operationId: 'getServiceGraphImpact',
        summary: 'Every node that transitively relies on the given one, with the linking path',
        tags,
        security: SecuredBy,
        querystring: Type.Object({ node: NodeRef }, { additionalProperties: false }),
        response: {
          200: Type.Object({ node: GraphNode, count: Type.Integer(), impacted: Type.Array(ImpactEntry) }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => amadeus.impact((request.query as { node: string }).node),
  )

  app.get(
    '/api/amadeus/diagram.mmd',
    {
      ...admin,
      schema: {
        operationId: 'getServiceGraphDiagram',
        summary: 'Mermaid flowchart of the graph, or of the part within `depth` edges of `focus`',
        tags,
        security: SecuredBy,
        querystring: Type.Object(
          { focus: Type.Optional(NodeRef), depth: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.String(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const q = request.query as { focus?: string; depth?: number }
      return reply.type('text/vnd.mermaid; charset=utf-8').send(await amadeus.diagram(q))
    },
  )

  app.get(
    '/api/amadeus/history',
    {
      ...admin,
      schema: {
        operationId: 'getServiceGraphHistory',
        summary: 'Snapshot versions, newest first, with added and removed nodes and edges',
        tags,
        security: SecuredBy,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            versions: Type.Array(
              Type.Object({
                version: Type.Integer(),
                hash: Type.String(),
                reason: Type.String(),
                diff: GraphDiff,
                node_count: Type.Integer(),
                edge_count: Type.Integer(),
                created_at: Type.String(),
              }),
            ),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const rows = await amadeus.history((request.query as { limit?: number }).limit ?? 100)
      return { versions: rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() })) }
    },
  )

  app.get(
    '/api/amadeus/validate',
    {
      ...admin,
      schema: {
        operationId: 'validateServiceGraph',
        summary: 'Consistency of the declarations (what `ovasabi kg validate` checks)',
        tags,
        security: SecuredBy,
        response: {
          200: Type.Object({ ok: Type.Boolean(), problems: Type.Array(Problem) }),
          ...errors(401, 403),
        },
      },
    },
    async () => {
      const problems = await amadeus.validate()
      return { ok: problems.length === 0, problems }
    },
  )

  app.get(
    '/api/amadeus/export',
    {
      ...admin,
      schema: {
        operationId: 'exportServiceGraph',
        summary: 'Every snapshot, as a JSON backup, or one page of them',
        description:
          'With `limit`, at most that many versions after version `after` (0 by default); when more ' +
          'follow, `Link: <…>; rel="next"` names the next page. Each page imports on its own, so a ' +
          'history larger than the import takes in one request (50 MiB) moves page by page.',
        tags,
        security: SecuredBy,
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SNAPSHOT_RETAIN })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ExportDocument, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { after = 0, limit } = request.query as { after?: number; limit?: number }
      if (limit === undefined && after === 0) return amadeus.exportAll()
      const { doc, more } = await amadeus.exportPage(after, limit ?? SNAPSHOT_RETAIN)
      const last = doc.snapshots.at(-1)?.version
      if (more && last !== undefined)
        reply.header(
          'link',
          `</api/amadeus/export?after=${last}&limit=${limit ?? SNAPSHOT_RETAIN}>; rel="next"`,
        )
      return doc
    },
  )

  app.post(
    '/api/amadeus/import',
    {
      ...admin,
      bodyLimit: 50 * 1024 * 1024,
      schema: {
        operationId: 'importServiceGraph',
        summary: 'Restore snapshots from an export (existing versions must match)',
        tags,
        security: SecuredBy,
        body: ExportDocument,
        response: {
          200: Type.Object({ imported: Type.Integer(), skipped: Type.Integer() }),
          ...errors(400, 401, 403, 409, 413, 422),
        },
      },
    },
    async (request) => amadeus.importAll(request.body as ExportDocument),
  )

  app.get(
    '/docs/asyncapi.json',
    {
      schema: {
        operationId: 'getAsyncApi',
        summary: 'AsyncAPI 3 document for /ws/{campaign}/{user_id} and /cable',
        tags: ['docs'],
        response: { 200: Type.Object({ asyncapi: Type.String() }, { additionalProperties: true }) },
      },
    },
    async () => generateAsyncApi(opts.eventSchemas, opts.asyncapi),
  )
}
