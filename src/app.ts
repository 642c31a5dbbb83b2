import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance } from 'fastify'
import { ulid } from 'ulid'
import * as amadeus from './amadeus/index.js'
import type { Config } from './config.js'
import * as analytics from './modules/analytics/index.js'
import * as campaign from './modules/campaign/index.js'
import * as session from './modules/session/index.js'
import * as nexus from './nexus/index.js'
import { purgeExpired } from './nexus/idempotency.js'
import { authPlugin, createAuthenticator } from './platform/auth/plugin.js'
import { registerErrorHandler } from './platform/http/error-handler.js'
import { registerJsonParser } from './platform/http/json-parser.js'
import { ErrorResponse } from './platform/http/schemas.js'
import { registerValidation } from './platform/http/validation.js'
import { ModuleRegistry } from './platform/module.js'
import { loggerOptions } from './platform/observability/logger.js'
import { observabilityRoutes } from './platform/observability/routes.js'
import { createPlatform, type Platform, type PlatformOptions } from './platform/platform.js'
import { InboundRegistry } from './realtime/inbound.js'
import { createBusPublisher } from './realtime/publish.js'

declare module 'fastify' {
  interface FastifyInstance {
    platform: Platform
    modules: ModuleRegistry
    /** Client → server frame types that modules handle (see realtime/inbound.ts). */
    inbound: InboundRegistry
    /** Every event type's schema (see amadeus/event-schemas.ts): modules register theirs here. */
    eventSchemas: amadeus.EventSchemaRegistry
    /** The service graph (the `kg` CLI commands use it on an app that does not listen). */
    amadeus: amadeus.AmadeusService
    /** Set by `server.ts` on SIGTERM: readiness turns 503 while in-flight work finishes. */
    draining: boolean
  }
}

export interface BuildOptions extends PlatformOptions {
  /** Use this platform instead of creating one (it is then not closed with the app). */
  platform?: Platform
  logger?: boolean
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** Build the whole server as a Fastify instance. It never listens: `server.ts` does. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const platform = options.platform ?? (await createPlatform(config, options))
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.LOG_LEVEL),
    bodyLimit: config.BODY_LIMIT,
    trustProxy: true,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : ulid()
    },
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: 'idle',
  })
  app.decorate('platform', platform)
  app.decorate('draining', false)
  if (!options.platform) app.addHook('onClose', () => platform.close())

  registerValidation(app)
  registerJsonParser(app, config.JSON_MAX_DEPTH)
  registerErrorHandler(app)
  app.addSchema(ErrorResponse)
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        mediaSrc: ["'self'", 'blob:'],
      },
    },
    crossOriginResourcePolicy: { policy: 'same-site' },
  })
  if (config.CORS_ORIGINS.length > 0) {
    await app.register(cors, { origin: [...config.CORS_ORIGINS], credentials: true })
  }
  await app.register(cookie)
  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: '1 minute',
    ...(platform.redis ? { redis: platform.redis, nameSpace: 'ovasabi:rl:' } : {}),
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      status: 'error',
      error: {
        code: 'RATE_LIMITED',
        message: `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`,
      },
      request_id: request.id,
    }),
  })

  await app.register(swagger, {
    openapi: {
      info: { title: 'Ovasabi API', version: config.VERSION, description: 'Real-time campaign backend' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  const authenticator = createAuthenticator({ tokens: platform.tokens, apiKeys: platform.apiKeys })
  await app.register(authPlugin, { authenticator })

  // Services, in dependency order.
  const { db } = platform.database
  const campaigns = campaign.createCampaignService({ db, bus: platform.bus })
  const actions = new nexus.ActionRegistry()
  const publisher = createBusPublisher(platform.bus)
  const inbound = new InboundRegistry()
  app.decorate('inbound', inbound)
  const eventSchemas = amadeus.createEventSchemaRegistry()
  app.decorate('eventSchemas', eventSchemas)
  const commitLog = nexus.createCommitLog(db, {
    maxInFlight:
      platform.database.dialect === 'pglite' ? 1 : Math.max(1, Math.floor(config.DATABASE_POOL_SIZE / 2)),
  })
  const dispatcher = nexus.createDispatcher({
    db,
    registry: actions,
    campaigns,
    commitLog,
    publisher,
    metrics: platform.metrics,
    config,
  })
  analytics.registerActions(actions)

  // Modules, in the order the service graph lists them.
  const modules = new ModuleRegistry()
  app.decorate('modules', modules)
  for (const m of [session.manifest, campaign.manifest, nexus.manifest, analytics.manifest, amadeus.manifest])
    modules.add(m)
  eventSchemas.addFromManifests(modules.list())

  await app.register(observabilityRoutes, {
    health: platform.health,
    metrics: platform.metrics,
    version: config.VERSION,
    poolStats: () => platform.database.poolStats(),
    isDraining: () => app.draining,
  })
  await app.register(session.routes, { tokens: platform.tokens })
  await app.register(campaign.routes, { campaigns })
  await app.register(nexus.routes, { dispatcher })
  const graph = amadeus.createAmadeusService({
    db,
    dialect: platform.database.dialect,
    redis: Boolean(platform.redis),
    modules,
    actions,
    campaigns,
    health: platform.health,
    metrics: platform.metrics,
    eventSchemas,
    hasRoute: (method, url) => app.hasRoute({ method: method as 'GET', url }),
  })
  app.decorate('amadeus', graph)
  await app.register(amadeus.routes, {
    amadeus: graph,
    eventSchemas,
    asyncapi: { version: config.VERSION, publicUrl: config.PUBLIC_URL, port: config.PORT },
  })
  const snapshots = amadeus.createSnapshotScheduler({
    amadeus: graph,
    onError: (err) => app.log.error({ err }, 'service graph snapshot failed'),
  })
  campaigns.onChange(() => snapshots.campaignChanged())

  let purgeTimer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await campaigns.start()
    if (config.OVASABI_ADMIN_KEY) {
      await platform.apiKeys.create({
        name: 'OVASABI_ADMIN_KEY',
        role: 'admin',
        key: config.OVASABI_ADMIN_KEY,
      })
    }
    await campaigns.ensure(defaultCampaign(config.DEFAULT_CAMPAIGN), 'system')
    purgeTimer = setInterval(
      () => void purgeExpired(db).catch((err) => app.log.warn({ err }, 'purge failed')),
      10 * 60_000,
    )
    purgeTimer.unref()
  })
  app.addHook('preClose', async () => {
    clearInterval(purgeTimer)
    await commitLog.flush()
  })
  // After the hook above: the snapshot includes the default campaign.
  app.addHook('onReady', () => snapshots.start())
  app.addHook('preClose', () => snapshots.stop())
  return app
}

/** The demo campaign created on first start: every feature on, 10 Hz presence. */
function defaultCampaign(slug: string) {
  return {
    slug,
    title: 'Ovasabi',
    description: 'The Ovasabi website campaign: live presence, leads, referrals and more.',
    metadata: {
      scheduling: { frequency: 10, timezone: 'UTC' },
      features: [
        'presence',
        'analytics',
        'registration',
        'quote',
        'referral',
        'translation',
        'media',
        'streaming',
        'notification',
      ] as any,
      custom_rules: {},
      tags: ['demo'],
    },
  }
}
