import { FEATURES } from '../modules/campaign/campaign.schema.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { ActionRegistry } from '../nexus/registry.js'
import type { Db } from '../platform/db/database.js'
import { ConflictError, UnprocessableError } from '../platform/http/errors.js'
import type { ModuleRegistry } from '../platform/module.js'
import type { HealthRegistry } from '../platform/observability/health.js'
import type { Metrics } from '../platform/observability/metrics.js'
import * as repo from './amadeus.repo.js'
import type { EventSchemaRegistry } from './event-schemas.js'
import { buildGraph, type CampaignInfo, type GraphSources, structureHash } from './graph.builder.js'
import {
  type ExportDocument,
  edgeKey,
  type Graph,
  type GraphDiff,
  type LiveNode,
  type NodeType,
  type Snapshot,
} from './graph.schema.js'
import { focusGraph, impactOf, neighbours, resolveNode } from './impact.js'
import { renderMermaid } from './mermaid.js'
import { computeRuntime, readTraffic } from './runtime.js'
import type { ServedRoute } from './served-routes.js'
import { existingTables, type ValidationProblem, validateDeclarations } from './validate.js'

export interface AmadeusDeps {
  db: Db
  dialect: 'pglite' | 'postgres'
  redis: boolean
  modules: Pick<ModuleRegistry, 'list'>
  actions: Pick<ActionRegistry, 'list'>
  campaigns: Pick<CampaignService, 'list'>
  health: Pick<HealthRegistry, 'run' | 'names'>
  metrics: Pick<Metrics, 'registry'>
  eventSchemas: EventSchemaRegistry
  /** Whether the server serves `METHOD path` (Fastify's `hasRoute`), for validation. */
  hasRoute?: (method: string, path: string) => boolean
  /** Every route the app serves (`collectServedRoutes`), so validation finds undeclared ones. */
  servedRoutes?: readonly ServedRoute[]
  /** Paths the HTTP server answers WebSocket upgrades on outside Fastify's router (`/cable`). */
  upgradePaths?: readonly string[]
  /** How many snapshot versions to keep (default `SNAPSHOT_RETAIN`). */
  retain?: number
}

const CAMPAIGN_PAGE = 500
/**
 * Snapshot versions kept: each holds a whole graph (every campaign included), and every campaign
 * created or re-featured adds one, so an unpruned history grows without bound. Storing a new
 * version deletes those beyond the newest `SNAPSHOT_RETAIN`.
 */
export const SNAPSHOT_RETAIN = 1000

export function diffGraphs(before: Graph | undefined, after: Graph): GraphDiff {
  const nodesBefore = new Set(before?.nodes.map((n) => n.id))
  const nodesAfter = new Set(after.nodes.map((n) => n.id))
  const edgesBefore = new Set(before?.edges.map(edgeKey))
  const edgesAfter = new Set(after.edges.map(edgeKey))
  return {
    added_nodes: [...nodesAfter].filter((n) => !nodesBefore.has(n)),
    removed_nodes: [...nodesBefore].filter((n) => !nodesAfter.has(n)),
    added_edges: [...edgesAfter].filter((e) => !edgesBefore.has(e)),
    removed_edges: [...edgesBefore].filter((e) => !edgesAfter.has(e)),
  }
}

export type AmadeusService = ReturnType<typeof createAmadeusService>

/**
 * A campaign's `features` as the graph lists them: a row hand-edited or stored before today's
 * checks may hold something other than a list of names there (an object, a string); visitors read
 * such a row with no feature on (`hasFeature`), and so does the graph.
 */
function listedFeatures(features: unknown): string[] {
  return Array.isArray(features) ? features.filter((f): f is string => typeof f === 'string') : []
}

/**
 * The export document around `snapshots`: the one shape `exportAll` and every `exportPage` give,
 * and `importAll` takes, so a whole backup and a page of one cannot drift apart.
 */
function exportDocument(snapshots: Snapshot[]): ExportDocument {
  return { format: 'ovasabi.amadeus/v1', exported_at: new Date().toISOString(), snapshots }
}

export function createAmadeusService(deps: AmadeusDeps) {
  const { db } = deps
  let recording = true

  /**
   * Every live campaign, from one read: pages read one after another skip a campaign when one on
   * an earlier page is archived in between (the rest shift up an offset), and the graph would
   * silently lack it. A page that comes back full is read again, larger, until one is not.
   */
  async function campaigns(): Promise<CampaignInfo[]> {
    for (let perPage = CAMPAIGN_PAGE; ; perPage *= 4) {
      const { rows } = await deps.campaigns.list({ page: 1, perPage })
      if (rows.length < perPage)
        return rows.map((c) => ({ slug: c.slug, features: listedFeatures(c.metadata.features) }))
    }
  }

  function actionInfos() {
    return deps.actions.list().map((a) => ({
      name: a.name,
      aliases: a.aliases ?? [],
      feature: a.feature,
      role: a.role,
      description: a.description,
      writes: a.writes,
    }))
  }

  async function sources(): Promise<GraphSources> {
    return {
      modules: deps.modules.list(),
      actions: actionInfos(),
      campaigns: await campaigns(),
      features: FEATURES,
      platform: { dialect: deps.dialect, redis: deps.redis },
      healthChecks: deps.health.names(),
    }
  }

  async function graph(): Promise<Graph> {
    return buildGraph(await sources())
  }

  /** The graph with live health and traffic on every node. */
  async function live(graphIn?: Graph): Promise<{ nodes: LiveNode[]; edges: Graph['edges']; hash: string }> {
    const g = graphIn ?? (await graph())
    const [dependencies, traffic] = await Promise.all([deps.health.run(), readTraffic(deps.metrics.registry)])
    const runtime = await computeRuntime(g, { modules: deps.modules.list(), dependencies, traffic })
    return {
      nodes: g.nodes.map((n) => ({ ...n, runtime: runtime.get(n.id) ?? {} })),
      edges: g.edges,
      hash: structureHash(g),
    }
  }

  /** Stores a new version when the structure changed since the latest one; concurrent nodes agree on one. */
  async function snapshot(reason: string): Promise<{ created: boolean; snapshot: Snapshot }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      // The latest version is read before the graph is built, never after: version k+1 is then
      // stored only if no version came after k, and its graph was built after k was stored. A
      // node that built its graph before another node stored a newer one would otherwise store
      // the older structure on top (a campaign "removed", then "added" again).
      const last = await repo.latest(db)
      const g = await graph()
      const hash = structureHash(g)
      if (last?.hash === hash) return { created: false, snapshot: last }
      const next: Snapshot = {
        version: (last?.version ?? 0) + 1,
        hash,
        reason,
        graph: g,
        diff: diffGraphs(last?.graph, g),
        created_at: new Date().toISOString(),
      }
      if (await repo.insert(db, next)) {
        await repo.prune(db, deps.retain ?? SNAPSHOT_RETAIN)
        return { created: true, snapshot: next }
      }
    }
    throw new ConflictError('Could not store a graph snapshot: versions kept moving', 'SNAPSHOT_CONFLICT')
  }

  return {
    sources,
    graph,
    live,
    snapshot,

    /**
     * This process stores no snapshot at start or after campaign changes (the scheduler asks
     * `recording()`). For `ovasabi kg`: its app is built from the checkout it runs in, maybe not
     * the code the database's servers run, and pointed at their database it would record that
     * checkout's structure in their history (and a restore into an empty database would clash
     * with it).
     */
    readOnly() {
      recording = false
    },
    /** Whether this process records its structure in the snapshot history. */
    recording: () => recording,

    async liveFiltered(type?: NodeType) {
      const g = await live()
      if (!type) return g
      const nodes = g.nodes.filter((n) => n.type === type)
      const ids = new Set(nodes.map((n) => n.id))
      return { ...g, nodes, edges: g.edges.filter((e) => ids.has(e.from) || ids.has(e.to)) }
    },

    async node(ref: string) {
      const g = await graph()
      const found = resolveNode(g, ref)
      const { outgoing, incoming } = neighbours(g, found.id)
      const near = new Set([found.id, ...outgoing.map((e) => e.to), ...incoming.map((e) => e.from)])
      const withRuntime = await live({
        nodes: g.nodes.filter((n) => near.has(n.id)),
        edges: [...outgoing, ...incoming],
      })
      return {
        node: withRuntime.nodes.find((n) => n.id === found.id)!,
        outgoing,
        incoming,
        neighbours: withRuntime.nodes.filter((n) => n.id !== found.id),
      }
    },

    async impact(ref: string) {
      const g = await graph()
      const root = resolveNode(g, ref)
      const impacted = impactOf(g, root.id)
      return { node: root, count: impacted.length, impacted }
    },

    async diagram(options: { focus?: string; depth?: number }) {
      const g = await graph()
      if (!options.focus) return renderMermaid(g)
      const root = resolveNode(g, options.focus)
      return renderMermaid(focusGraph(g, root.id, options.depth ?? 2), { focus: root.id })
    },

    history: (limit = 100) => repo.history(db, limit),

    /** Every snapshot, as one document (`ovasabi kg export`, the unpaged `GET /api/amadeus/export`). */
    async exportAll(): Promise<ExportDocument> {
      return exportDocument(await repo.all(db))
    },

    /**
     * At most `limit` snapshots after version `after`, as a document `importAll` takes on its own;
     * `more` says whether another page follows.
     */
    async exportPage(after: number, limit: number): Promise<{ doc: ExportDocument; more: boolean }> {
      // One row beyond the page says whether another follows, without a count.
      const rows = await repo.all(db, { after, limit: limit + 1 })
      const more = rows.length > limit
      return { doc: exportDocument(more ? rows.slice(0, limit) : rows), more }
    },

    /**
     * Restores snapshots from an export. A version already present with the same hash is skipped;
     * with a different hash the whole import is refused (409), so history is never rewritten.
     */
    async importAll(doc: ExportDocument): Promise<{ imported: number; skipped: number }> {
      return db.transaction().execute(async (trx) => {
        let imported = 0
        let skipped = 0
        const present = async (s: Snapshot) => {
          const existing = await repo.byVersion(trx, s.version)
          if (existing && existing.hash !== s.hash)
            throw new ConflictError(
              `Version ${s.version} exists with a different graph (hash ${existing.hash.slice(0, 12)}…)`,
              'SNAPSHOT_CONFLICT',
            )
          return Boolean(existing)
        }
        for (const s of [...doc.snapshots].sort((a, b) => a.version - b.version)) {
          if (await present(s)) {
            skipped++
            continue
          }
          if (structureHash(s.graph) !== s.hash)
            throw new UnprocessableError(
              `Snapshot ${s.version}: hash does not match its graph`,
              'SNAPSHOT_CORRUPT',
            )
          if (await repo.insert(trx, s)) imported++
          // A running node stored this version between the read and the insert (the insert left
          // its row alone): the same graph counts as already there, another one is a conflict.
          else if (await present(s)) skipped++
          else throw new ConflictError(`Version ${s.version} could not be stored`, 'SNAPSHOT_CONFLICT')
        }
        return { imported, skipped }
      })
    },

    async validate(): Promise<ValidationProblem[]> {
      return validateDeclarations({
        modules: deps.modules.list(),
        actions: actionInfos(),
        features: FEATURES,
        eventSchemas: deps.eventSchemas,
        tables: await existingTables(db),
        tablesComplete: true,
        hasRoute: deps.hasRoute,
        servedRoutes: deps.servedRoutes,
        upgradePaths: deps.upgradePaths,
      })
    },
  }
}
