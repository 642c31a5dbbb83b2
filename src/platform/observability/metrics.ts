import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/**
 * `ovasabi_actions_total` by action and outcome. The action name arrives from the client (the
 * envelope's `event`), so it is never a label as sent: every distinct label value is a series
 * Prometheus keeps for good, and a guest posting random names would grow it without bound.
 */
export interface ActionMetrics {
  inc(labels: { action: string; outcome: string }): void
  /**
   * The registry's resolver (alias or name → canonical name, undefined when no action answers):
   * the `action` label then only holds canonical names, and `unknown` for anything else. Until it
   * is set, the first {@link MAX_ACTION_LABELS} names are kept and the rest counted as `other`.
   */
  nameActions(resolve: (name: string) => string | undefined): void
}

/**
 * One registry per app instance (tests build many apps in one process). Modules add their own
 * metrics to `registry`; the common ones live here.
 */
export interface Metrics {
  readonly registry: Registry
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly actions: ActionMetrics
  /**
   * `ovasabi_action_ack_publishes_failed_total`: `update_ack`s the bus (Redis) did not take, by
   * what became of them: `delivered_locally` (written to the socket that sent the action, on this
   * node) or `undelivered` (no socket got it; a REST caller still has its HTTP answer).
   */
  readonly ackPublishesFailed: Counter<'outcome'>
  /**
   * `ovasabi_action_after_commit_failures_total`: work an action left for after its commit (its
   * `ctx.afterCommit` tasks, `onCommitted` listeners) that threw, by canonical action name. The
   * action still committed and was answered 2xx.
   */
  readonly afterCommitFailures: Counter<'action'>
  readonly dbPool: Gauge<'state'>
}

/** Distinct `action` label values kept before a resolver is set. */
export const MAX_ACTION_LABELS = 200
/** Outcomes are `ok`, an error code (`UNKNOWN_ACTION`) or an HTTP status. */
const OUTCOME = /^(?:ok|[A-Z][A-Z0-9_]{0,63}|\d{3})$/

function actionMetrics(registry: Registry): ActionMetrics {
  const counter = new Counter({
    name: 'ovasabi_actions_total',
    help: 'Nexus actions by canonical name and outcome (ok, error code); unregistered names count as unknown',
    labelNames: ['action', 'outcome'],
    registers: [registry],
  })
  let resolve: ((name: string) => string | undefined) | undefined
  const seen = new Set<string>()
  const actionLabel = (name: string): string => {
    if (resolve) return resolve(name) ?? 'unknown'
    if (seen.has(name)) return name
    if (seen.size >= MAX_ACTION_LABELS) return 'other'
    seen.add(name)
    return name
  }
  return {
    inc({ action, outcome }) {
      counter.inc({ action: actionLabel(action), outcome: OUTCOME.test(outcome) ? outcome : 'other' })
    },
    nameActions(fn) {
      resolve = fn
    },
  }
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
    actions: actionMetrics(registry),
    ackPublishesFailed: new Counter({
      name: 'ovasabi_action_ack_publishes_failed_total',
      help:
        'update_ack frames whose publish on the bus failed (e.g. Redis unreachable), by outcome: ' +
        'delivered_locally (written to the sending socket on this node) or undelivered',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    afterCommitFailures: new Counter({
      name: 'ovasabi_action_after_commit_failures_total',
      help:
        'Nexus actions that committed but whose after-commit work (afterCommit tasks, onCommitted ' +
        'listeners) threw, by canonical action name',
      labelNames: ['action'],
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
