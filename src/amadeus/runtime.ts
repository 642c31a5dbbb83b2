import type { Registry } from 'prom-client'
import type { ModuleManifest } from '../platform/module.js'
import type { DependencyHealth } from '../platform/observability/health.js'
import type { Graph, NodeRuntime } from './graph.schema.js'

type Traffic = NonNullable<NodeRuntime['traffic']>
type Health = NonNullable<NodeRuntime['health']>

/** Request counts per `METHOD route` and per action, read from the app's prom-client registry. */
export async function readTraffic(
  registry: Registry,
): Promise<{ endpoints: Map<string, Traffic>; actions: Map<string, Traffic> }> {
  const endpoints = new Map<string, Traffic>()
  const actions = new Map<string, Traffic>()
  const http = await registry.getSingleMetric('ovasabi_http_request_duration_seconds')?.get()
  // A histogram's values are its buckets, sum and count; only `_count` is a number of requests.
  for (const v of (http?.values ?? []) as Array<{
    metricName?: string
    labels: Record<string, unknown>
    value: number
  }>) {
    if (v.metricName !== 'ovasabi_http_request_duration_seconds_count') continue
    const key = `${v.labels.method} ${v.labels.route}`
    const t = endpoints.get(key) ?? { requests: 0, errors: 0, client_errors: 0, error_rate: 0 }
    const status = Number(v.labels.status)
    t.requests += v.value
    if (status >= 500) t.errors += v.value
    else if (status >= 400) t.client_errors = (t.client_errors ?? 0) + v.value
    endpoints.set(key, t)
  }
  const counted = await registry.getSingleMetric('ovasabi_actions_total')?.get()
  for (const v of counted?.values ?? []) {
    const name = String(v.labels.action)
    const outcome = String(v.labels.outcome)
    const t = actions.get(name) ?? { requests: 0, errors: 0, error_rate: 0, outcomes: {} }
    t.requests += v.value
    if (outcome !== 'ok') t.errors += v.value
    t.outcomes![outcome] = (t.outcomes![outcome] ?? 0) + v.value
    actions.set(name, t)
  }
  for (const t of [...endpoints.values(), ...actions.values()])
    t.error_rate = t.requests > 0 ? Math.round((t.errors / t.requests) * 10_000) / 10_000 : 0
  return { endpoints, actions }
}

async function moduleHealth(m: ModuleManifest, timeoutMs: number): Promise<Health> {
  if (!m.health) return { status: 'unknown', details: 'no health check declared' }
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    const r = await Promise.race([
      m.health(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    return {
      status: r.status,
      ...(r.details ? { details: r.details } : {}),
      latency_ms: Math.round(performance.now() - started),
    }
  } catch (err) {
    return { status: 'down', details: (err as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Live data for every node: externals' health from the platform's checks, modules' from their
 * manifest check (and which of their direct dependencies are down), traffic for endpoints and
 * actions.
 */
export async function computeRuntime(
  graph: Graph,
  inputs: {
    modules: ModuleManifest[]
    dependencies: Record<string, DependencyHealth>
    traffic: Awaited<ReturnType<typeof readTraffic>>
    timeoutMs?: number
  },
): Promise<Map<string, NodeRuntime>> {
  const out = new Map<string, NodeRuntime>()
  const health = new Map<string, Health>()
  for (const [name, d] of Object.entries(inputs.dependencies)) {
    health.set(`external:${name}`, {
      status: d.status,
      ...(d.details ? { details: d.details } : {}),
      ...(d.latency_ms !== undefined ? { latency_ms: d.latency_ms } : {}),
    })
  }
  const modules = await Promise.all(
    inputs.modules.map(
      async (m) => [`module:${m.name}`, await moduleHealth(m, inputs.timeoutMs ?? 2000)] as const,
    ),
  )
  for (const [id, h] of modules) health.set(id, h)

  for (const n of graph.nodes) {
    const runtime: NodeRuntime = {}
    if (n.type === 'external' || n.type === 'module') {
      const h = health.get(n.id) ?? { status: 'unknown' as const }
      const down = graph.edges
        .filter((e) => e.from === n.id && e.type === 'depends_on' && health.get(e.to)?.status === 'down')
        .map((e) => e.to)
      runtime.health = down.length > 0 ? { ...h, degraded_by: down } : h
    }
    if (n.type === 'endpoint') {
      const t = inputs.traffic.endpoints.get(`${n.data.method} ${n.data.path}`)
      runtime.traffic = t ?? { requests: 0, errors: 0, client_errors: 0, error_rate: 0 }
    }
    if (n.type === 'action') {
      const name = n.id.slice('action:'.length)
      runtime.traffic = inputs.traffic.actions.get(name) ?? {
        requests: 0,
        errors: 0,
        error_rate: 0,
        outcomes: {},
      }
    }
    out.set(n.id, runtime)
  }
  return out
}
