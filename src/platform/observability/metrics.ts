import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/**
 * One registry per app instance (tests build many apps in one process). Modules add their own
 * metrics to `registry`; the common ones live here.
 */
export interface Metrics {
  readonly registry: Registry
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly actions: Counter<'action' | 'outcome'>
  readonly dbPool: Gauge<'state'>
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  return {
    registry,
    httpDuration: new Histogram({
      name: 'ovasabi_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    actions: new Counter({
      name: 'ovasabi_actions_total',
      help: 'Nexus actions by canonical name and outcome (ok, error code)',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    dbPool: new Gauge({
      name: 'ovasabi_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting)',
      labelNames: ['state'],
      registers: [registry],
    }),
  }
}
