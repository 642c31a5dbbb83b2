import type { Db } from '../platform/db/database.js'
import type { Graph, GraphDiff, Snapshot } from './graph.schema.js'

export interface SnapshotSummary {
  version: number
  hash: string
  reason: string
  diff: GraphDiff
  node_count: number
  edge_count: number
  created_at: Date
}

function toSnapshot(row: {
  version: number
  hash: string
  reason: string
  graph: unknown
  diff: unknown
  created_at: Date
}): Snapshot {
  return {
    version: Number(row.version),
    hash: row.hash,
    reason: row.reason,
    graph: row.graph as Graph,
    diff: row.diff as GraphDiff,
    created_at: new Date(row.created_at).toISOString(),
  }
}

const columns = ['version', 'hash', 'reason', 'graph', 'diff', 'created_at'] as const

export async function latest(db: Db): Promise<Snapshot | undefined> {
  const row = await db
    .selectFrom('service_amadeus_snapshot')
    .select(columns)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row ? toSnapshot(row) : undefined
}

export async function byVersion(db: Db, version: number): Promise<Snapshot | undefined> {
  const row = await db
    .selectFrom('service_amadeus_snapshot')
    .select(columns)
    .where('version', '=', version)
    .executeTakeFirst()
  return row ? toSnapshot(row) : undefined
}

/** Inserts the snapshot unless its version is taken (another node won); returns whether it did. */
export async function insert(db: Db, s: Snapshot): Promise<boolean> {
  const row = await db
    .insertInto('service_amadeus_snapshot')
    .values({
      version: s.version,
      hash: s.hash,
      reason: s.reason,
      graph: JSON.stringify(s.graph),
      diff: JSON.stringify(s.diff),
      created_at: s.created_at,
    })
    .onConflict((oc) => oc.column('version').doNothing())
    .returning('version')
    .executeTakeFirst()
  return Boolean(row)
}

/** Deletes every version older than the newest `keep`; returns how many it deleted. */
export async function prune(db: Db, keep: number): Promise<number> {
  const oldestKept = await db
    .selectFrom('service_amadeus_snapshot')
    .select('version')
    .orderBy('version', 'desc')
    .limit(1)
    .offset(keep - 1)
    .executeTakeFirst()
  if (!oldestKept) return 0
  const res = await db
    .deleteFrom('service_amadeus_snapshot')
    .where('version', '<', oldestKept.version)
    .executeTakeFirst()
  return Number(res.numDeletedRows)
}

/** Newest first, without the graphs themselves. */
export async function history(db: Db, limit: number): Promise<SnapshotSummary[]> {
  const rows = await db
    .selectFrom('service_amadeus_snapshot')
    .select([
      'version',
      'hash',
      'reason',
      'diff',
      'created_at',
      (eb) => eb.fn<number>('jsonb_array_length', [eb.ref('graph', '->').key('nodes')]).as('node_count'),
      (eb) => eb.fn<number>('jsonb_array_length', [eb.ref('graph', '->').key('edges')]).as('edge_count'),
    ])
    .orderBy('version', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    version: Number(r.version),
    hash: r.hash,
    reason: r.reason,
    diff: r.diff as GraphDiff,
    node_count: Number(r.node_count),
    edge_count: Number(r.edge_count),
    created_at: r.created_at,
  }))
}

/** Every version in order, or (with `page`) at most `limit` of those after version `after`. */
export async function all(db: Db, page?: { after: number; limit: number }): Promise<Snapshot[]> {
  let q = db.selectFrom('service_amadeus_snapshot').select(columns).orderBy('version')
  if (page) q = q.where('version', '>', page.after).limit(page.limit)
  return (await q.execute()).map(toSnapshot)
}
