import { createHash } from 'node:crypto'
import type { ModuleManifest } from '../platform/module.js'
import { externalDeclaration, isKnownExternal, type PlatformFacts, presentExternals } from './externals.js'
import type { EdgeType, Graph, GraphEdge, GraphNode, NodeType } from './graph.schema.js'

/** A registered Nexus action, as the graph needs it. */
export interface ActionInfo {
  name: string
  aliases?: string[]
  feature: string
  role: string
  description: string
  writes: string
}

/** A campaign, as the graph needs it: only what is structure (its features). */
export interface CampaignInfo {
  slug: string
  features: string[]
}

/** Everything the graph is built from; each part is a declaration the code makes. */
export interface GraphSources {
  modules: ModuleManifest[]
  actions: ActionInfo[]
  campaigns: CampaignInfo[]
  /** The feature catalogue (`FEATURES`). */
  features: readonly string[]
  platform: PlatformFacts
  /** Names of registered health checks (a check named after an external puts it in the graph). */
  healthChecks: string[]
}

export const nodeId = {
  module: (name: string) => `module:${name}`,
  endpoint: (method: string, path: string) => `endpoint:${method} ${path}`,
  action: (name: string) => `action:${name}`,
  event: (channel: string, name: string) => `event:${channel}:${name}`,
  table: (name: string) => `table:${name}`,
  feature: (name: string) => `feature:${name}`,
  campaign: (slug: string) => `campaign:${slug}`,
  external: (name: string) => `external:${name}`,
}

/**
 * Builds the service graph from declarations only: module manifests, the action registry, the
 * platform's wiring and campaigns' `metadata.features`. A dependency that names nothing known gets
 * no edge (validation reports it) rather than a guessed node.
 */
export function buildGraph(src: GraphSources): Graph {
  const nodes = new Map<string, GraphNode>()
  const edges = new Map<string, GraphEdge>()
  const moduleNames = new Set(src.modules.map((m) => m.name))

  const node = (id: string, type: NodeType, label: string, data: Record<string, unknown> = {}) => {
    if (!nodes.has(id)) nodes.set(id, { id, type, label, data })
    return id
  }
  const edge = (from: string, type: EdgeType, to: string, declared_by: string) => {
    const k = `${from}\u0000${type}\u0000${to}`
    if (!edges.has(k)) edges.set(k, { from, to, type, declared_by })
  }
  const feature = (name: string) =>
    node(nodeId.feature(name), 'feature', name, { known: src.features.includes(name) })

  for (const f of src.features) feature(f)

  const referenced = new Set([...src.healthChecks, ...src.modules.flatMap((m) => m.dependencies)])
  const externals = presentExternals(referenced)
  for (const name of externals) {
    const ext = externalDeclaration(name, src.platform)
    node(nodeId.external(name), 'external', ext.label, ext.data)
  }
  for (const name of externals) {
    const ext = externalDeclaration(name, src.platform)
    for (const dep of ext.dependsOn)
      edge(nodeId.external(name), 'depends_on', nodeId.external(dep), 'platform')
    for (const table of ext.tables) {
      node(nodeId.table(table), 'table', table)
      edge(nodeId.external(name), 'stores_in', nodeId.table(table), 'platform')
    }
  }

  const actions = new Map(src.actions.map((a) => [a.name, a]))
  for (const a of src.actions) {
    const id = node(nodeId.action(a.name), 'action', a.name, {
      aliases: [...(a.aliases ?? [])].sort(),
      role: a.role,
      feature: a.feature,
      writes: a.writes,
      description: a.description,
      registered: true,
    })
    edge(id, 'enabled_by', feature(a.feature), 'actions')
  }

  for (const m of src.modules) {
    const by = `manifest:${m.name}`
    const id = node(nodeId.module(m.name), 'module', m.name, {
      version: m.version,
      description: m.description,
      capabilities: [...m.capabilities].sort(),
      has_health_check: Boolean(m.health),
    })
    for (const dep of m.dependencies) {
      if (moduleNames.has(dep)) edge(id, 'depends_on', nodeId.module(dep), by)
      else if (isKnownExternal(dep)) edge(id, 'depends_on', nodeId.external(dep), by)
    }
    for (const e of m.endpoints) {
      const ep = node(nodeId.endpoint(e.method, e.path), 'endpoint', `${e.method} ${e.path}`, {
        method: e.method,
        path: e.path,
        auth: e.auth,
        ...(e.summary ? { summary: e.summary } : {}),
      })
      edge(id, 'exposes', ep, by)
    }
    for (const name of m.actions) {
      const a = actions.get(name)
      const an = a
        ? nodeId.action(name)
        : node(nodeId.action(name), 'action', name, { registered: false, aliases: [] })
      edge(id, 'handles', an, by)
    }
    for (const e of m.events) {
      const ev = node(nodeId.event(e.channel, e.name), 'event', `${e.channel}: ${e.name}`, {
        channel: e.channel,
        name: e.name,
      })
      edge(id, e.direction === 'emits' ? 'emits' : 'consumes', ev, by)
    }
    for (const t of m.tables) edge(id, 'stores_in', node(nodeId.table(t), 'table', t), by)
    for (const f of m.features) edge(id, 'enabled_by', feature(f), by)
  }

  for (const c of src.campaigns) {
    const id = node(nodeId.campaign(c.slug), 'campaign', c.slug)
    for (const f of c.features) edge(id, 'uses', feature(f), `campaign:${c.slug}`)
  }

  return {
    nodes: [...nodes.values()].sort((a, b) => cmp(a.id, b.id)),
    edges: [...edges.values()].sort((a, b) => cmp(a.from, b.from) || cmp(a.type, b.type) || cmp(a.to, b.to)),
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** JSON with object keys sorted at every level, so equal graphs serialise equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => cmp(a, b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** SHA-256 of the graph's structure: sorted nodes and edges, never live data. */
export function structureHash(graph: Graph): string {
  const sorted = {
    nodes: [...graph.nodes].sort((a, b) => cmp(a.id, b.id)),
    edges: [...graph.edges]
      .map((e) => ({ from: e.from, to: e.to, type: e.type }))
      .sort((a, b) => cmp(a.from, b.from) || cmp(a.type, b.type) || cmp(a.to, b.to)),
  }
  return createHash('sha256').update(canonicalJson(sorted)).digest('hex')
}
