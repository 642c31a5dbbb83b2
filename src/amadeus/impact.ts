import { BadRequestError, NotFoundError } from '../platform/http/errors.js'
import { type Graph, type GraphEdge, type GraphNode, RELIANT_END } from './graph.schema.js'

/**
 * A node by id (`external:redis`) or, when that is unambiguous, by bare name (`redis`,
 * `quote.submit`, `service_campaign_main`); failing that, by the name it goes by elsewhere: an
 * event by its name on the wire (`referral.milestone`, `presence_update`), an action by a seed
 * alias (`submit_quote`). Unknown → 404 `NODE_NOT_FOUND`; several → 400 `AMBIGUOUS_NODE`.
 */
export function resolveNode(graph: Graph, ref: string): GraphNode {
  const exact = graph.nodes.find((n) => n.id === ref)
  if (exact) return exact
  const byName = graph.nodes.filter((n) => n.id.slice(n.id.indexOf(':') + 1) === ref || n.label === ref)
  // Only when no bare id or label matches, so a name that resolved before still resolves the same.
  const found = byName.length > 0 ? byName : graph.nodes.filter((n) => otherNames(n).includes(ref))
  if (found.length === 1) return found[0]!
  if (found.length > 1) {
    // Named in the message as well: `ovasabi kg` prints only the code and the message.
    const ids = found.map((n) => n.id)
    const shown = ids.length > 10 ? `${ids.slice(0, 10).join(', ')}, …` : ids.join(', ')
    throw new BadRequestError(
      `"${ref}" names several nodes (${shown}); use one of their ids`,
      'AMBIGUOUS_NODE',
      { candidates: ids },
    )
  }
  throw new NotFoundError(`No node "${ref}" in the service graph`, 'NODE_NOT_FOUND')
}

/** An event's wire name (its id is `event:<channel>:<name>`) and an action's aliases. */
function otherNames(n: GraphNode): unknown[] {
  if (n.type === 'event') return [n.data.name]
  if (n.type === 'action' && Array.isArray(n.data.aliases)) return n.data.aliases
  return []
}

/** The node's direct edges, both ways. */
export function neighbours(graph: Graph, id: string): { outgoing: GraphEdge[]; incoming: GraphEdge[] } {
  return {
    outgoing: graph.edges.filter((e) => e.from === id),
    incoming: graph.edges.filter((e) => e.to === id),
  }
}

export interface ImpactEntry {
  node: GraphNode
  distance: number
  /** The edges from the changed node to this one (shortest chain). */
  path: GraphEdge[]
}

/**
 * Everything that transitively relies on `rootId`, each with the shortest chain of declared edges
 * that links them. Reliance follows `RELIANT_END`: a module relies on what it depends on, an
 * endpoint on the module that serves it, a campaign on the features it uses, and so on.
 */
export function impactOf(graph: Graph, rootId: string): ImpactEntry[] {
  const reliantsOf = new Map<string, Array<{ reliant: string; edge: GraphEdge }>>()
  for (const e of graph.edges) {
    const [reliant, reliedOn] = RELIANT_END[e.type] === 'source' ? [e.from, e.to] : [e.to, e.from]
    const list = reliantsOf.get(reliedOn) ?? []
    list.push({ reliant, edge: e })
    reliantsOf.set(reliedOn, list)
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]))
  const paths = new Map<string, GraphEdge[]>([[rootId, []]])
  const queue = [rootId]
  const out: ImpactEntry[] = []
  while (queue.length > 0) {
    const current = queue.shift()!
    for (const { reliant, edge } of reliantsOf.get(current) ?? []) {
      if (paths.has(reliant)) continue
      const path = [...paths.get(current)!, edge]
      paths.set(reliant, path)
      queue.push(reliant)
      const node = byId.get(reliant)
      if (node) out.push({ node, distance: path.length, path })
    }
  }
  return out
}

/** The subgraph within `depth` edges (either direction) of `focusId`. */
export function focusGraph(graph: Graph, focusId: string, depth: number): Graph {
  const keep = new Set([focusId])
  let frontier = new Set([focusId])
  for (let d = 0; d < depth && frontier.size > 0; d++) {
    const next = new Set<string>()
    for (const e of graph.edges) {
      for (const [a, b] of [
        [e.from, e.to],
        [e.to, e.from],
      ] as const) {
        if (frontier.has(a) && !keep.has(b)) {
          keep.add(b)
          next.add(b)
        }
      }
    }
    frontier = next
  }
  return {
    nodes: graph.nodes.filter((n) => keep.has(n.id)),
    edges: graph.edges.filter((e) => keep.has(e.from) && keep.has(e.to)),
  }
}
