import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { onRouterAnswer } from '../http/error-handler.js'
import { UnauthorizedError } from '../http/errors.js'
import { Type } from 'typebox'
import type { DependencyHealth, HealthRegistry } from './health.js'
import type { Metrics } from './metrics.js'

const Dependency = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  critical: Type.Boolean(),
  latency_ms: Type.Optional(Type.Number()),
  details: Type.Optional(Type.String()),
})
const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  timestamp: Type.String(),
  version: Type.String(),
  uptime_seconds: Type.Number(),
  dependencies: Type.Record(Type.String(), Dependency),
})

export interface ObservabilityOptions {
  health: HealthRegistry
  metrics: Metrics
  version: string
  /** Pool numbers are read at scrape time. */
  poolStats: () => { total: number; idle: number; waiting: number }
  /** Whether the process is shutting down (ready turns 503 so balancers stop sending). */
  isDraining: () => boolean
  /** `METRICS_TOKEN`: when set, scrapes must send it as a bearer token. */
  metricsToken?: string
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** A scrape's bearer token against `METRICS_TOKEN`, in constant time (digests of equal length). */
function scrapeAllowed(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (.+)$/i.exec(header ?? '')
  return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected)
}

/**
 * Probes and scrapes skip the global rate limit: its counters live in Redis when `REDIS_URL` is
 * set, so during a Redis outage every limited route fails, and a liveness probe that fails gets
 * every node restarted over a dependency `/health` exists to report. Concurrent calls share one
 * run of the checks (and one rendering of the metrics), so unlimited does not mean unbounded work.
 */
const unlimited = { rateLimit: false }

/** A failed check's own message names hosts, ports and accounts: logged, never sent to anyone. */
const WITHHELD = 'unavailable (details in the server log)'

export const observabilityRoutes: FastifyPluginAsync<ObservabilityOptions> = async (app, opts) => {
  const tags = ['health']
  const logged = new Map<string, string | undefined>()
  const check = async () => {
    const dependencies = await opts.health.run()
    for (const [name, d] of Object.entries(dependencies)) {
      const reason = d.status === 'down' ? (d.details ?? 'down') : undefined
      if (reason !== logged.get(name)) {
        if (reason) app.log.warn({ dependency: name, reason }, 'dependency down')
        else if (logged.get(name)) app.log.info({ dependency: name }, 'dependency back up')
        logged.set(name, reason)
      }
      if (d.status === 'down') d.details = WITHHELD
    }
    return dependencies
  }
  let running: Promise<Record<string, DependencyHealth>> | undefined
  const report = async () => {
    running ??= check().finally(() => {
      running = undefined
    })
    const dependencies = await running
    const values = Object.values(dependencies)
    const criticalDown = values.some((d) => d.critical && d.status === 'down') || opts.isDraining()
    const anyDown = values.some((d) => d.status === 'down')
    return {
      status: criticalDown ? ('unhealthy' as const) : anyDown ? ('degraded' as const) : ('healthy' as const),
      timestamp: new Date().toISOString(),
      version: opts.version,
      uptime_seconds: Math.round(process.uptime()),
      dependencies,
    }
  }

  app.get(
    '/health',
    {
      config: unlimited,
      schema: { operationId: 'health', tags, response: { 200: HealthBody, 503: HealthBody } },
    },
    async (_req, reply) => {
      const body = await report()
      return reply.status(body.status === 'unhealthy' ? 503 : 200).send(body)
    },
  )
  app.get(
    '/health/live',
    {
      config: unlimited,
      schema: {
        operationId: 'healthLive',
        tags,
        response: { 200: Type.Object({ status: Type.Literal('alive') }) },
      },
    },
    async () => ({ status: 'alive' as const }),
  )
  app.get(
    '/health/ready',
    {
      config: unlimited,
      schema: { operationId: 'healthReady', tags, response: { 200: HealthBody, 503: HealthBody } },
    },
    async (_req, reply) => {
      const body = await report()
      return reply.status(body.status === 'unhealthy' ? 503 : 200).send(body)
    },
  )

  const expectedToken = opts.metricsToken ? digest(opts.metricsToken) : undefined
  let rendering: Promise<string> | undefined
  const render = () => {
    const pool = opts.poolStats()
    opts.metrics.dbPool.set({ state: 'total' }, pool.total)
    opts.metrics.dbPool.set({ state: 'idle' }, pool.idle)
    opts.metrics.dbPool.set({ state: 'waiting' }, pool.waiting)
    return opts.metrics.registry.metrics()
  }
  app.get(
    '/metrics',
    { config: unlimited, schema: { operationId: 'metrics', tags, hide: true } },
    async (req, reply) => {
      // Runtime figures (pool sizes, memory, event-loop lag, traffic) are for the operator.
      if (expectedToken && !scrapeAllowed(req.headers.authorization, expectedToken)) {
        throw new UnauthorizedError('Metrics need the METRICS_TOKEN as a bearer token', 'UNAUTHORIZED')
      }
      rendering ??= render().finally(() => {
        rendering = undefined
      })
      return reply.type(opts.metrics.registry.contentType).send(await rendering)
    },
  )
}

/**
 * Request durations by route and status for every route, and for the URLs the router refused
 * itself (a broken percent-encoding, a path segment over its length: route `unmatched`), which no
 * hook sees; call on the root instance.
 */
export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  const observe = (request: FastifyRequest, reply: FastifyReply) =>
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply)
    done()
  })
  onRouterAnswer(app, observe)
}
