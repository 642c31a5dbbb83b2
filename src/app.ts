import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import * as amadeus from './amadeus/index.js'
import type { Config } from './config.js'
import { scrubAnalyticsEvents } from './modules/analytics/analytics.erase.js'
import * as analytics from './modules/analytics/index.js'
import * as campaign from './modules/campaign/index.js'
import {
  type Campaign,
  EMAIL_VERIFIED_EVENT,
  FEATURES,
  hasFeature,
} from './modules/campaign/campaign.schema.js'
import * as referral from './modules/referral/index.js'
import * as localization from './modules/localization/index.js'
import * as media from './modules/media/index.js'
import * as notification from './modules/notification/index.js'
import * as quote from './modules/quote/index.js'
import * as session from './modules/session/index.js'
import * as user from './modules/user/index.js'
import * as stream from './modules/stream/index.js'
import { endStreamsWhenStreamingOff } from './modules/stream/live.campaign-off.js'
import * as nexus from './nexus/index.js'
import * as web from './web/index.js'
import { purgeExpired } from './nexus/idempotency.js'
import { authPlugin, createAuthenticator } from './platform/auth/plugin.js'
import { closeIdleWhileClosing } from './platform/http/close-idle.js'
import { frameworkErrors, registerErrorHandler } from './platform/http/error-handler.js'
import { shuttingDown } from './platform/http/errors.js'
import { fallbackLimitStore } from './platform/http/global-limit-store.js'
import { registerLimitFirst } from './platform/http/limit-first.js'
import { newUlid } from './platform/ids.js'
import { registerJsonParser } from './platform/http/json-parser.js'
import { createRateLimiter } from './platform/http/rate-limiter.js'
import { createMailer, defaultSender } from './platform/mail.js'
import { applySecurityHeaders, connectSources, securityHeaders } from './platform/http/security-headers.js'
import { headOperations } from './platform/http/openapi.js'
import { ErrorResponse } from './platform/http/schemas.js'
import { httpTimeouts } from './platform/http/timeouts.js'
import { registerValidation } from './platform/http/validation.js'
import { ModuleRegistry } from './platform/module.js'
import { loggerOptions } from './platform/observability/logger.js'
import { observabilityRoutes, registerRequestMetrics } from './platform/observability/routes.js'
import { healthManifest, observabilityManifest } from './platform/observability/observability.manifest.js'
import { docsManifest } from './platform/http/docs.manifest.js'
import { apiKeysManifest } from './platform/auth/apikeys.manifest.js'
import { apiKeyRoutes } from './platform/auth/apikeys.routes.js'
import { createPlatform, type Platform, type PlatformOptions } from './platform/platform.js'
import { fastifyTrustProxy } from './platform/http/client-ip.js'
import { clientNetwork } from './platform/http/client-network.js'
import * as realtime from './realtime/index.js'
import { InboundRegistry } from './realtime/inbound.js'
import { createBusPublisher, type RealtimePublisher } from './realtime/publish.js'

declare module 'fastify' {
  interface FastifyInstance {
    platform: Platform
    modules: ModuleRegistry
    /** Client → server frame types that modules handle (see realtime/inbound.ts). */
    inbound: InboundRegistry
    /** The one publish API to reach sockets on every node (see realtime/publish.ts). */
    publisher: RealtimePublisher
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
  /**
   * For tools that read a deployment's database (`ovasabi kg`): the start hook writes nothing (no
   * default campaign, no OVASABI_ADMIN_KEY row, no graph snapshot) and starts no worker (purges,
   * webhook delivery, referral announcements), and the gateway joins no Redis presence. Use such
   * an app without `ready()`: the modules' own start hooks (the upload sweeper, which fails
   * interrupted uploads, the stream ticker, the gateway) then never run either. It applies no
   * migration to a database that has some: one behind this version is refused, naming them.
   */
  readOnly?: boolean
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** Build the whole server as a Fastify instance. It never listens: `server.ts` does. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // A read-only tool does not change the schema of the database it reads (see `migrate`).
  // The bus's errors (a message that is no JSON, a handler that throws, its connection failing)
  // go to the app's log once there is one: a node that stops hearing the bus says so.
  let logBusError = (_err: unknown) => {}
  const platformOptions: PlatformOptions = {
    ...options,
    ...(options.readOnly && options.migrate !== false ? { migrate: 'refuse-pending' as const } : {}),
    onBusError: options.onBusError ?? ((err) => logBusError(err)),
  }
  const platform = options.platform ?? (await createPlatform(config, platformOptions))
  // Helmet's headers, computed once (see security-headers.ts), on every response. Only the CSP's
  // connect-src may vary, by the host a page was asked for (see `hostCsp`).
  const security = securityHeaders({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        // The pages talk to their own origin (REST, uploads) and its WebSocket origin (the SDK
        // opens ws(s)://{page host}/ws/…): never `ws:`/`wss:` to any host, which would let
        // injected script carry data off over a socket. Named, since only CSP Level 3 browsers
        // count ws(s) to the page's host as 'self': PUBLIC_URL's, or the request's own host's.
        connectSrc: ["'self'", ...connectSources(config.PUBLIC_URL)],
        styleSrc: ["'self'", "'unsafe-inline'"],
        mediaSrc: ["'self'", 'blob:'],
        // Helmet's default `upgrade-insecure-requests` makes a page served over plain HTTP (a LAN
        // box, a fresh VPS: anything but localhost) fetch its own scripts over HTTPS, and stay
        // blank. Sent only when the public URL is HTTPS.
        upgradeInsecureRequests: config.PUBLIC_URL?.startsWith('https:') ? [] : null,
      },
    },
    crossOriginResourcePolicy: { policy: 'same-site' },
  })
  // Headers deadline, body idle timeout, no total request deadline (see timeouts.ts).
  const timeouts = httpTimeouts({
    headersMs: config.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
    bodyIdleMs: config.HTTP_BODY_IDLE_TIMEOUT_SECONDS * 1000,
    bodyMinBytesPerSecond: config.HTTP_BODY_MIN_BYTES_PER_SECOND,
    bodyRateGraceMs: config.HTTP_BODY_MIN_RATE_GRACE_SECONDS * 1000,
    answerHeaders: security,
  })
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.LOG_LEVEL),
    bodyLimit: config.BODY_LIMIT,
    trustProxy: fastifyTrustProxy(config.TRUST_PROXY),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newUlid()
    },
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors,
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    ...timeouts.options,
  })
  // Every route any plugin adds, so `kg validate` finds one that no manifest declares.
  const servedRoutes = amadeus.collectServedRoutes(app)
  timeouts.watch(app)
  closeIdleWhileClosing(app)
  app.decorate('platform', platform)
  // At most one line every 30 s (its subscriber fails each reconnect while Redis is down), with
  // the number of errors that line stands for.
  let busErrors = 0
  let busLoggedAt = Number.NEGATIVE_INFINITY
  logBusError = (err) => {
    busErrors++
    if (Date.now() - busLoggedAt < 30_000) return
    app.log.warn(
      { err, errors: busErrors },
      'event bus: a message could not be received or handled; this node may miss announcements',
    )
    busErrors = 0
    busLoggedAt = Date.now()
  }
  app.decorate('draining', false)
  // A request that reaches a closing app (pipelined, or on a kept-alive connection still busy)
  // gets the REST error body with its code and request id, as every other answer does, not the
  // body of Fastify's own making (`return503OnClosing`, turned off above). Registered first, so
  // it is refused from the first shutdown step on (the refusal is the hook after the security
  // headers', so it carries them too).
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  if (!options.platform) {
    // Registered first, so it runs before every other shutdown step: those that talk to a Redis
    // that does not answer then fail at once instead of each waiting out the command timeout.
    app.addHook('preClose', async () => {
      if (await platform.releaseUnresponsiveRedis())
        app.log.warn('shutdown: Redis does not answer; closing without it')
    })
    app.addHook('onClose', () => platform.close())
  }

  registerValidation(app)
  registerJsonParser(app, config.JSON_MAX_DEPTH)
  // Only JSON is accepted unless a route scopes its own parser (uploads): anything else is 415.
  app.removeContentTypeParser('text/plain')
  registerErrorHandler(app)
  app.addSchema(ErrorResponse)
  registerRequestMetrics(app, platform.metrics)
  // Callback-style hooks on every request: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    // Answers are personal or change from one request to the next (errors, 404s, health,
    // metrics): nothing keeps one unless its route says how (pages, assets, media files).
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    if (app.draining) reply.header('connection', 'close')
    done(null, payload)
  })

  applySecurityHeaders(app, security)
  app.addHook('onRequest', (_request, _reply, done) => done(closing ? shuttingDown() : undefined))
  if (config.CORS_ORIGINS.length > 0) {
    await app.register(cors, {
      origin: [...config.CORS_ORIGINS],
      credentials: true,
      // Browsers hide other response headers from a cross-origin page: these are the ones the
      // SDK and pages read (Retry-After on 429, replays, ETag for If-Match, a CSV's file name).
      exposedHeaders: [
        'Retry-After',
        'X-Request-Id',
        'Idempotent-Replayed',
        'ETag',
        'Content-Disposition',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ],
      // A preflight is kept 10 minutes (Chromium's ceiling is 2 hours), not asked before each POST.
      maxAge: 600,
    })
  }
  await app.register(cookie)
  const streamModule = stream.createStreamModule({
    platform,
    config,
    onLimiterFallback: (err) =>
      app.log.warn(
        { err },
        'StreamSource limits: Redis failed; each node counts on its own until it answers',
      ),
    onBroadcastError: (err, action, streamId) =>
      app.log.warn(
        { err, action, stream_id: streamId },
        'StreamSource: the bus refused a stream broadcast; the change stands, /cable clients miss it',
      ),
    // A console person's sign-in on `/api/v1` and `/cable`, checked as on every other route. The
    // authenticator is built below (with the revocations), so a getter: it runs per request.
    people: (credential) => authenticator.resolve(credential),
    onRehashError: (err) =>
      app.log.warn({ err }, 'StreamSource: password rehash at login not stored; the old hash still verifies'),
  })
  await app.register(stream.maintenancePlugin, { maintenance: streamModule.maintenance })
  // Counted before a route's own checks: a request refused as unauthenticated or forbidden counts.
  await registerLimitFirst(app, () =>
    app.register(rateLimit, {
      global: true,
      max: config.RATE_LIMIT_PER_MINUTE,
      timeWindow: '1 minute',
      // With Redis the nodes share the counts, each counting on its own while Redis cannot answer.
      ...(platform.redis ? { store: fallbackLimitStore(platform.redis, 'ovasabi:rl:') } : {}),
      // By client network (an IPv6 client's /64), which it may send from any address of.
      keyGenerator: (request) => clientNetwork(request.ip),
      // A store failure must not turn every request (the pages included) into a 500.
      skipOnError: true,
      errorResponseBuilder: (request, context) => ({
        statusCode: 429,
        status: 'error',
        error: {
          code: 'RATE_LIMITED',
          message: `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`,
        },
        request_id: request.id,
      }),
    }),
  )

  await app.register(swagger, {
    // Every GET answers HEAD too: listed, as a HEAD answers (headers, no body; see openapi.ts).
    exposeHeadRoutes: true,
    transformObject: (built) =>
      'openapiObject' in built ? headOperations(built.openapiObject) : built.swaggerObject,
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

  // Tokens of an erased person, of a revoked (logged out) session or from before a person's
  // cut-off stop working (see revocations.ts).
  const revocations = user.createRevocations(platform.database.db, {
    bus: platform.bus,
    onError: (err) =>
      app.log.warn({ err }, 'logout or erasure not announced; other nodes honour it within 10 s'),
  })
  const stopRevocations = await revocations.follow()
  const authenticator = createAuthenticator({
    tokens: platform.tokens,
    apiKeys: platform.apiKeys,
    isRevoked: revocations.isRevoked,
  })
  await app.register(authPlugin, {
    authenticator,
    cookieOrigins: { allowed: config.CORS_ORIGINS, publicUrl: config.PUBLIC_URL },
  })

  // Services, in dependency order.
  const { db } = platform.database
  // Filled by the modules below; a campaign's `referral_qualifies_on` is checked against it.
  const actions = new nexus.ActionRegistry()
  const campaigns = campaign.createCampaignService({
    db,
    bus: platform.bus,
    onError: (err, slug) => app.log.warn({ err, campaign: slug }, 'campaign change not propagated'),
    actions,
  })
  // The `action` metric label holds registered names only: the event name is the client's to choose.
  platform.metrics.actions.nameActions((name) => actions.resolve(name)?.name)
  const history = realtime.createEventHistory({
    bus: platform.bus,
    redis: platform.redis,
    size: config.WS_EVENT_HISTORY_SIZE,
    maxAgeSeconds: config.WS_EVENT_HISTORY_SECONDS,
  })
  const publisher = createBusPublisher(platform.bus, history)
  app.decorate('publisher', publisher)
  const inbound = new InboundRegistry()
  app.decorate('inbound', inbound)
  const eventSchemas = amadeus.createEventSchemaRegistry()
  app.decorate('eventSchemas', eventSchemas)
  const commitLog = nexus.createCommitLog(db, {
    // Leave the pool at least one connection for everything else (reads, idempotency claims).
    maxInFlight:
      platform.database.dialect === 'pglite'
        ? 1
        : Math.max(1, Math.min(config.COMMIT_CONCURRENCY, config.DATABASE_POOL_SIZE - 1)),
  })
  const dispatcher = nexus.createDispatcher({
    db,
    registry: actions,
    campaigns,
    commitLog,
    publisher,
    metrics: platform.metrics,
    config,
    log: app.log,
  })
  analytics.registerActions(actions)
  const limiter = createRateLimiter({
    redis: platform.redis,
    onFallback: (err) =>
      app.log.warn({ err }, 'rate limits: Redis failed; each node counts on its own until it answers'),
  })
  const translations = localization.createLocalizationService({
    db,
    config,
    registry: platform.metrics.registry,
  })
  // Mails and notifications to one person (the welcome, a lead's status) go in their locale,
  // worded by a campaign's catalog or translated (else English).
  const readerLanguage = {
    translate: localization.readerTranslator(translations),
    // Expected without LibreTranslate (a catalog may still word it); a fault with it.
    onUntranslated: (err: unknown) =>
      app.log[config.LIBRETRANSLATE_URL ? 'warn' : 'debug']({ err }, 'sent in English: not translated'),
  }
  const users = user.createUserService({
    db,
    tokens: platform.tokens,
    publisher,
    limiter,
    revocations: revocations,
    tokenTtlSeconds: config.SESSION_TTL_SECONDS,
    sessionMaxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
    onRehashError: (err) =>
      app.log.warn({ err }, 'password rehash at login not stored; the old hash still verifies'),
    // The notice is passwordReset's, made below with the mailer: called only once a change commits.
    onPasswordChanged: (person) => passwordReset.changed(person),
    ...readerLanguage,
  })
  const mailer = config.SMTP_URL
    ? await createMailer(config.SMTP_URL, config.MAIL_FROM ?? defaultSender(config.PUBLIC_URL))
    : undefined
  // Links are built from configuration only: a reset link built from a request's Host header is
  // one an attacker's request could point at their own site.
  const site = config.PUBLIC_URL?.replace(/\/+$/, '')
  const resetUrl = config.PASSWORD_RESET_URL ?? (site ? `${site}/admin/reset-password` : undefined)
  const verifyUrl = config.EMAIL_VERIFY_URL ?? (site ? `${site}/admin/verify-email` : undefined)
  // A link mailed at a join goes back to the campaign's page on this server (`/c/{slug}`), unless
  // the operator named one page for every link.
  const campaignPage =
    !config.EMAIL_VERIFY_URL && site ? (slug: string) => `${site}/c/${encodeURIComponent(slug)}` : undefined
  // A change of address is confirmed by a link to the new one, opened on the confirmation page.
  const emailChange = user.createEmailChange({
    db,
    limiter,
    confirmPassword: users.confirmPassword,
    ...(mailer && verifyUrl ? { mail: { mailer, verifyUrl } } : {}),
    ...readerLanguage,
    onError: (err) => app.log.error({ err }, 'address change mail not sent'),
  })
  users.onErase((person, trx) => emailChange.forget(person.user_id, trx))
  const emailVerification = user.createEmailVerification({
    db,
    limiter,
    changes: emailChange,
    ...(mailer && verifyUrl
      ? { mail: { mailer, verifyUrl, ...(campaignPage ? { campaignPage } : {}) } }
      : {}),
    ...readerLanguage,
    onError: (err) => app.log.error({ err }, 'email verification mail not sent'),
  })
  users.onJoin(emailVerification.joining)
  users.onErase((person, trx) => emailVerification.forget(person.user_id, trx))
  const passwordReset = user.createPasswordReset({
    db,
    limiter,
    revocations,
    emailVerification,
    onReset: (email, ip) =>
      users
        .passwordResetFrom(email, ip)
        .catch((err) => app.log.warn({ err }, 'login budget not restored after a password reset')),
    ...(mailer && resetUrl ? { mail: { mailer, resetUrl } } : {}),
    ...readerLanguage,
    onError: (err) => app.log.error({ err }, 'password reset mail not sent'),
  })
  users.onErase((person, trx) => passwordReset.forget(person.user_id, trx))
  const referrals = referral.createReferralService({
    db,
    users,
    publisher,
    actions,
    campaigns,
    onError: (err) => app.log.warn({ err }, 'referral side effect failed'),
  })
  users.onJoinReferral(referrals.applyAtJoin)
  // A campaign whose referrals qualify on a confirmed address (`referral_qualifies_on:
  // email_verified`): as an action's, a qualification lost here is caught up from the event log.
  emailVerification.onVerified(({ userId, campaigns: joined }) => {
    for (const slug of joined) {
      campaigns
        .find(slug)
        .then((c) => {
          if (c && referrals.qualifiesOn(c, EMAIL_VERIFIED_EVENT, EMAIL_VERIFIED_EVENT))
            return referrals.recordAction(c, userId, EMAIL_VERIFIED_EVENT)
        })
        .catch((err) => app.log.warn({ err }, 'referral qualification failed'))
    }
  })
  // Erasure reaches every module holding personal data; each registers its hook here.
  users.onErase((person, trx) => scrubAnalyticsEvents(trx, person).then(() => {}))
  users.onErase((person, trx) => referrals.forget(person.user_id, trx))
  // The gateway's replay history: campaign_events naming the person are replayed to no one.
  users.onErase(async (person) => {
    await publisher.forget?.([person.user_id, ...person.emails, ...person.former_emails.map((f) => f.email)])
  })
  users.onErase(async (person, trx) => {
    await nexus.forgetResponses(
      trx,
      [`user:${person.user_id}`, ...person.session_ids.map((id) => `session:${id}`)],
      [person.user_id],
    )
    revocations.forget(person)
  })
  user.registerActions(actions, users)
  referral.registerActions(actions, referrals)
  referral.qualifyOnActions(dispatcher, referrals, (err) =>
    app.log.warn({ err }, 'referral qualification failed'),
  )
  localization.registerActions(actions, translations)
  platform.health.register('translation', translations.health, { critical: false })
  const mediaService = media.createMediaService({
    db,
    storage: await media.createStorage(config),
    signer: media.createUploadSigner(config.JWT_SECRET),
    publisher,
    campaigns,
    people: users,
    config,
  })
  media.registerActions(actions, mediaService)
  users.onErase((person, trx) => mediaService.erase(person, trx))
  const deliveryWorker = notification.createDeliveryWorker(
    {
      db,
      box: notification.createSecretBox(config.JWT_SECRET),
      registry: platform.metrics.registry,
      bus: platform.bus,
      onError: (err) => app.log.warn({ err }, 'webhook delivery failed'),
    },
    {
      pollMs: config.WEBHOOK_POLL_MS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      circuitThreshold: config.WEBHOOK_CIRCUIT_THRESHOLD,
      circuitCooldownMs: config.WEBHOOK_CIRCUIT_COOLDOWN_MS,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    },
  )
  const webhooks = notification.createWebhookService({
    db,
    box: notification.createSecretBox(config.JWT_SECRET),
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    maxPerCampaign: config.WEBHOOK_MAX_PER_CAMPAIGN,
    worker: deliveryWorker,
    bus: platform.bus,
    onError: (err) => app.log.warn({ err }, 'a notice to the other nodes’ webhook workers was not sent'),
  })
  const stopFollowing = await notification.followWorkerNotices(platform.bus, deliveryWorker)
  const quotes = quote.createQuoteService({ db, limiter, publisher, webhooks, ...readerLanguage })
  quote.registerActions(actions, quotes)
  users.onErase(async (person, trx) => {
    await quotes.eraseByUser(person.user_id, trx)
    for (const email of person.emails) await quotes.eraseByEmail(email, { trx })
    // Under an address they had before: what was sent while it was theirs, not since (someone
    // else may have joined with it after).
    for (const { email, until } of person.former_emails)
      await quotes.eraseByEmail(email, { sentBy: until, trx })
  })
  const liveStreams = stream.createLive(streamModule, { publisher, redis: platform.redis, log: app.log })
  stream.registerLiveActions(actions, liveStreams)
  stream.registerLiveInbound(inbound, liveStreams)
  // Erasure ends the person's campaign streams; their title, owner and session go from the rows.
  users.onErase((person, trx) => liveStreams.erase(person, trx))
  // A campaign whose `streaming` feature went off strands no stream (its open ones end).
  endStreamsWhenStreamingOff({ campaigns, live: liveStreams, log: app.log })

  // Modules, in the order the service graph lists them.
  const modules = new ModuleRegistry()
  app.decorate('modules', modules)
  for (const m of [
    session.manifest,
    campaign.manifest,
    nexus.manifest,
    analytics.manifest,
    user.manifest,
    referral.manifest,
    { ...localization.manifest, health: translations.health },
    media.manifest,
    notification.manifest,
    quote.manifest,
    stream.manifest,
    web.manifest,
    realtime.manifest,
    healthManifest,
    observabilityManifest,
    docsManifest,
    apiKeysManifest,
    amadeus.manifest,
  ])
    modules.add(m)
  eventSchemas.addFromManifests(modules.list())

  await app.register(observabilityRoutes, {
    health: platform.health,
    metrics: platform.metrics,
    version: config.VERSION,
    poolStats: () => platform.database.poolStats(),
    isDraining: () => app.draining,
    metricsToken: config.METRICS_TOKEN,
  })
  await app.register(session.routes, { tokens: platform.tokens })
  await app.register(campaign.routes, { campaigns })
  await app.register(nexus.routes, { dispatcher })
  await app.register(user.routes, { users, campaigns })
  await app.register(user.peopleRoutes, { users })
  await app.register(user.passwordResetRoutes, { passwordReset })
  await app.register(user.emailVerificationRoutes, { emailVerification, emailChange })
  await app.register(user.signInRoutes, { users })
  await app.register(apiKeyRoutes, { apiKeys: platform.apiKeys, campaigns })
  await app.register(referral.routes, { referrals, campaigns })
  await app.register(localization.routes, { localization: translations, campaigns })
  await app.register(media.routes, { media: mediaService, campaigns, maxBytes: config.MEDIA_MAX_BYTES })
  await app.register(notification.routes, { webhooks, campaigns })
  await app.register(quote.routes, { quotes, dispatcher, campaigns })
  // `/cable` counts against the gateway's socket limits; the gateway is built below, so a getter.
  await app.register(stream.routes, {
    module: streamModule,
    live: liveStreams,
    campaigns,
    dispatcher,
    admission: () => gateway.admission,
  })
  // Last: the site's pages and assets never shadow an API route.
  await app.register(web.routes, {
    distDir: fileURLToPath(new URL('../web/dist', import.meta.url)),
    defaultCampaign: config.DEFAULT_CAMPAIGN,
  })
  const gateway = realtime.attachGateway(
    app,
    {
      authenticator: app.authenticator,
      campaigns,
      dispatcher,
      history,
      inbound,
      bus: platform.bus,
      // Presence in Redis registers this process as a node at once (heartbeats, reaping).
      redis: options.readOnly ? undefined : platform.redis,
      metrics: realtime.createRealtimeMetrics(platform.metrics.registry),
      // `stats_update`: the campaign's public counters (see `publicCounters`), and the leaderboard.
      stats: async (slug) => {
        const c = await campaigns.get(slug)
        // Only the public ones: every tracked event name is a counter of its own, as many as
        // visitors care to invent, and this runs for every room on every node.
        const names = publicCounters(c)
        const read = await campaigns.counters(slug, names)
        const counters = Object.fromEntries(names.map((name) => [name, read[name] ?? 0]))
        if (!hasFeature(c, 'referral')) return { counters }
        return { counters, leaderboard: await referrals.leaderboard(slug, referral.leaderboardSize(c)) }
      },
      config,
    },
    { otherUpgradePaths: [stream.CABLE_PATH] },
  )
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
    servedRoutes,
    // Served on the HTTP server's upgrade event, not as Fastify routes.
    upgradePaths: [stream.CABLE_PATH],
  })
  app.decorate('amadeus', graph)
  if (options.readOnly) graph.readOnly()
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
    if (options.readOnly) return
    await campaigns.start()
    if (config.OVASABI_ADMIN_KEY) {
      const configured = await platform.apiKeys.create({
        name: 'OVASABI_ADMIN_KEY',
        role: 'admin',
        key: config.OVASABI_ADMIN_KEY,
      })
      if (configured.revoked_at)
        app.log.warn(
          { key_id: configured.id },
          'OVASABI_ADMIN_KEY names a key revoked before (rotated out or revoked): it stays refused; set a new one',
        )
    }
    await campaigns.ensure(defaultCampaign(config.DEFAULT_CAMPAIGN), 'system')
    // Expired idempotency records, webhook messages past their retention, and revoked guest
    // sessions whose tokens have all expired.
    const purge = async () => {
      await purgeExpired(db)
      await webhooks.purgeFinished(config.WEBHOOK_RETENTION_DAYS)
      await users.purgeRevokedSessions(config.SESSION_TTL_SECONDS)
    }
    purgeTimer = setInterval(
      () => void purge().catch((err) => app.log.warn({ err }, 'purge failed')),
      10 * 60_000,
    )
    purgeTimer.unref()
    deliveryWorker.start()
    // Milestones committed but not announced (a failed publish, a node that died) go out late.
    referrals.start()
  })
  app.addHook('preClose', async () => {
    clearInterval(purgeTimer)
    // Actions still running (a WebSocket's, whose socket just closed) commit before the pool closes.
    await dispatcher.drain()
    // Verification mails asked for, and joins' events (they may qualify referrals), go out first.
    await emailVerification.idle()
    await stopFollowing()
    await stopRevocations()
    await deliveryWorker.stop()
    await referrals.stop()
    // Reset links, change links and notices asked for before the close are mailed (each bounded
    // by the SMTP timeouts).
    await passwordReset.idle()
    await emailChange.idle()
    mailer?.close()
  })
  // After the hook above: the snapshot includes the default campaign.
  app.addHook('onReady', () => snapshots.start())
  app.addHook('preClose', () => snapshots.stop())
  return app
}

/**
 * Which counters every socket of the campaign sees in `stats_update` (guests included):
 * `custom_rules.public_counters`, default the community's own figures (members, referrals). The
 * rest (leads, say) stay on the editors' `GET /api/campaign/{slug}/stats` unless a campaign lists them.
 */
function publicCounters(c: Campaign): string[] {
  const listed = (c.metadata.custom_rules as Record<string, unknown> | undefined)?.public_counters
  if (!Array.isArray(listed)) return ['registrations', 'referrals', 'referrals_qualified']
  return [...new Set(listed.filter((n): n is string => typeof n === 'string' && n.length <= 100))].slice(
    0,
    50,
  )
}

/** The demo campaign created on first start: every feature on, 10 Hz presence. */
function defaultCampaign(slug: string) {
  return {
    slug,
    title: 'Ovasabi',
    description: 'The Ovasabi website campaign: live presence, leads, referrals and more.',
    metadata: {
      scheduling: { frequency: 10, timezone: 'UTC' },
      features: [...FEATURES],
      custom_rules: {},
      tags: ['demo'],
    },
  }
}
