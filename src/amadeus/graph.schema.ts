import { type Static, Type } from 'typebox'

export const NODE_TYPES = [
  'module',
  'endpoint',
  'action',
  'event',
  'table',
  'feature',
  'campaign',
  'external',
] as const
export type NodeType = (typeof NODE_TYPES)[number]

export const EDGE_TYPES = [
  'depends_on',
  'exposes',
  'handles',
  'emits',
  'consumes',
  'stores_in',
  'enabled_by',
  'uses',
] as const
export type EdgeType = (typeof EDGE_TYPES)[number]

/**
 * Which end of an edge relies on the other, i.e. which way a failure or a change travels.
 * `source`: the edge's `from` relies on its `to` (a module depends on Redis, a campaign uses a
 * feature, a consumer needs the event). `target`: the `to` relies on the `from` (an endpoint
 * exists because its module serves it; a feature works because the modules and actions it gates
 * work).
 */
export const RELIANT_END: Record<EdgeType, 'source' | 'target'> = {
  depends_on: 'source',
  consumes: 'source',
  stores_in: 'source',
  uses: 'source',
  exposes: 'target',
  handles: 'target',
  emits: 'target',
  enabled_by: 'target',
}

// Mapped unions lose their literal types in TypeBox's static inference: pin them.
export const NodeTypeSchema = Type.Unsafe<NodeType>(Type.Union(NODE_TYPES.map((t) => Type.Literal(t))))
export const EdgeTypeSchema = Type.Unsafe<EdgeType>(Type.Union(EDGE_TYPES.map((t) => Type.Literal(t))))

/** A node as stored in snapshots: structure only, no live numbers. */
export const GraphNode = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 300 }),
    type: NodeTypeSchema,
    label: Type.String({ maxLength: 300 }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
)
export type GraphNode = Static<typeof GraphNode>

export const GraphEdge = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 300 }),
    to: Type.String({ minLength: 1, maxLength: 300 }),
    type: EdgeTypeSchema,
    /** The declaration the edge comes from, e.g. `manifest:campaign`, `actions`, `campaign:spring`. */
    declared_by: Type.String({ maxLength: 300 }),
  },
  { additionalProperties: false },
)
export type GraphEdge = Static<typeof GraphEdge>

export const Graph = Type.Object(
  { nodes: Type.Array(GraphNode), edges: Type.Array(GraphEdge) },
  { additionalProperties: false },
)
export type Graph = Static<typeof Graph>

export const HealthStatus = Type.Union([
  Type.Literal('up'),
  Type.Literal('down'),
  Type.Literal('disabled'),
  Type.Literal('unknown'),
])

/** Live data added to a node when it is served (never stored in a snapshot, never hashed). */
export const NodeRuntime = Type.Object({
  health: Type.Optional(
    Type.Object({
      status: HealthStatus,
      details: Type.Optional(Type.String()),
      latency_ms: Type.Optional(Type.Number()),
      /** Dependencies (direct) that are down. */
      degraded_by: Type.Optional(Type.Array(Type.String())),
    }),
  ),
  traffic: Type.Optional(
    Type.Object({
      requests: Type.Number(),
      /** Server errors (5xx) for endpoints; any outcome other than `ok` for actions. */
      errors: Type.Number(),
      error_rate: Type.Number(),
      client_errors: Type.Optional(Type.Number()),
      outcomes: Type.Optional(Type.Record(Type.String(), Type.Number())),
    }),
  ),
})
export type NodeRuntime = Static<typeof NodeRuntime>

export const LiveNode = Type.Object({
  id: Type.String(),
  type: NodeTypeSchema,
  label: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  runtime: NodeRuntime,
})
export type LiveNode = Static<typeof LiveNode>

export const GraphDiff = Type.Object({
  added_nodes: Type.Array(Type.String()),
  removed_nodes: Type.Array(Type.String()),
  added_edges: Type.Array(Type.String()),
  removed_edges: Type.Array(Type.String()),
})
export type GraphDiff = Static<typeof GraphDiff>

/**
 * The column is a PostgreSQL `integer` (max 2^31 − 1); an imported version stays far enough below
 * it that the versions snapshots add after it still fit.
 */
export const MAX_SNAPSHOT_VERSION = 1_000_000_000

export const SnapshotSchema = Type.Object(
  {
    version: Type.Integer({ minimum: 1, maximum: MAX_SNAPSHOT_VERSION }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    reason: Type.String({ maxLength: 100 }),
    graph: Graph,
    diff: GraphDiff,
    created_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
)
export type Snapshot = Static<typeof SnapshotSchema>

/** The backup format of `kg export` / `GET /api/amadeus/export`, accepted back by import. */
export const ExportDocument = Type.Object(
  {
    format: Type.Literal('ovasabi.amadeus/v1'),
    exported_at: Type.String({ format: 'date-time' }),
    snapshots: Type.Array(SnapshotSchema, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
)
export type ExportDocument = Static<typeof ExportDocument>

/** `from -type-> to`: how edges are named in diffs and paths. */
export function edgeKey(e: Pick<GraphEdge, 'from' | 'to' | 'type'>): string {
  return `${e.from} -${e.type}-> ${e.to}`
}
