import type { ModuleManifest } from '../module.js'

/**
 * The probes that run the dependency checks (`routes.ts`), so the graph names what a failing
 * dependency takes down: readiness turns 503 when a critical one (the database) is down; Redis
 * down is reported (`degraded`) without failing it.
 */
export const healthManifest: ModuleManifest = {
  name: 'health',
  version: '1.0.0',
  description: 'Health and readiness probes: every dependency and its status; readiness 503 while draining',
  capabilities: ['health.report', 'health.readiness'],
  // The checks `/health` and `/health/ready` run (platform.ts, app.ts).
  dependencies: ['database', 'redis', 'translation'],
  endpoints: [
    { method: 'GET', path: '/health', auth: 'public', summary: 'Every dependency and its status' },
    {
      method: 'GET',
      path: '/health/ready',
      auth: 'public',
      summary: 'Readiness: 503 when the database is down or the node drains; Redis down is degraded, 200',
    },
  ],
  actions: [],
  events: [],
  tables: [],
  features: [],
}

/** Liveness and the scrape: they run no dependency check, so nothing but the process takes them down. */
export const observabilityManifest: ModuleManifest = {
  name: 'observability',
  version: '1.0.0',
  description: 'Liveness probe and Prometheus metrics',
  capabilities: ['observability.liveness', 'observability.metrics'],
  dependencies: [],
  endpoints: [
    { method: 'GET', path: '/health/live', auth: 'public', summary: 'Liveness: the process answers' },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'public',
      summary: 'Prometheus metrics (METRICS_TOKEN when set)',
    },
  ],
  actions: [],
  events: [],
  tables: [],
  features: [],
}
