import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../../config.js'
import type { Principal } from '../../platform/auth/principal.js'
import type { Platform } from '../../platform/platform.js'
import { createAccountService } from './account.service.js'
import { createMaintenance } from './maintenance.js'
import { createMemoryRateLimiter, createRedisRateLimiter } from './ratelimit.js'
import { createStreamService } from './stream.service.js'
import { v1Plugin } from './v1.plugin.js'
import { collaborativeChannel, streamsChannel } from './cable/channels.js'
import { createMemoryCollabStore, createRedisCollabStore } from './cable/collab.store.js'
import { createCableMetrics } from './cable/metrics.js'
import { type CableServerDeps, createCableServer } from './cable/server.js'
import { createLiveStreams, type LiveStreams } from './live.service.js'
import { liveRoutes } from './live.routes.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { createMemoryViewerCounter, createRedisViewerCounter } from './live.viewers.js'
import { createMemoryRecentChat, createRedisRecentChat } from './live.chat-recent.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { Dispatcher } from '../../nexus/dispatcher.js'
import { ulid } from 'ulid'

export { CABLE_PATH } from './cable/protocol.js'
export { maintenancePlugin } from './maintenance.js'
export { registerLiveActions, registerLiveInbound } from './live.actions.js'
export { streamManifest as manifest } from './stream.manifest.js'

/** The module's services, built once in `app.ts`. */
export function createStreamModule(deps: {
  platform: Pick<Platform, 'database' | 'bus' | 'redis' | 'apiKeys' | 'metrics'>
  config: Config
  /** The `/api/v1` limits' Redis failed: each node counts on its own until it answers (told once per outage). */
  onLimiterFallback?: (err: unknown) => void
  /** A committed stream write's `/cable` broadcast was refused by the bus (Redis unreachable). */
  onBroadcastError?: (err: unknown, action: string, streamId: number) => void
  /**
   * A console person's token as the rest of the API resolves it (`Authenticator.resolve`), so
   * `/api/v1` and `/cable` take an editor's or admin's sign-in as a key of that role.
   */
  people?: (credential: string) => Promise<Principal>
  /** A registry account's password rehash at login that could not be stored (the login stands). */
  onRehashError?: (err: unknown) => void
}) {
  const { platform, config } = deps
  const db = platform.database.db
  const accounts = createAccountService({
    db,
    apiKeys: platform.apiKeys,
    secret: config.JWT_SECRET,
    bus: platform.bus,
    people: deps.people,
    onRehashError: deps.onRehashError,
  })
  const streams = createStreamService({
    db,
    bus: platform.bus,
    accounts,
    onBroadcastError: deps.onBroadcastError,
  })
  const maintenance = createMaintenance({ db, bus: platform.bus, forced: config.MAINTENANCE_MODE })
  const limiter = platform.redis
    ? createRedisRateLimiter(platform.redis, { onError: deps.onLimiterFallback })
    : createMemoryRateLimiter()
  const collab = platform.redis ? createRedisCollabStore(platform.redis) : createMemoryCollabStore()
  const cableMetrics = createCableMetrics(platform.metrics.registry)
  return { accounts, streams, maintenance, limiter, collab, cableMetrics, bus: platform.bus, config }
}
export type StreamModule = ReturnType<typeof createStreamModule>

/** Campaign live streams on the registry's rows; needs the realtime publisher, built after the module. */
export function createLive(
  module: StreamModule,
  deps: {
    publisher: RealtimePublisher
    redis?: Platform['redis']
    /** Told when a join goes on without the stream's recent chat (Redis unreachable). */
    log?: Parameters<typeof createLiveStreams>[0]['log']
  },
) {
  const nodeId = ulid()
  return createLiveStreams({
    streams: module.streams,
    publisher: deps.publisher,
    limiter: module.limiter,
    viewers: deps.redis ? createRedisViewerCounter(deps.redis, nodeId) : createMemoryViewerCounter(),
    recent: deps.redis ? createRedisRecentChat(deps.redis) : createMemoryRecentChat(),
    config: module.config,
    log: deps.log,
    bus: module.bus,
  })
}

/** What the stream module's routes are registered with. */
export interface StreamRoutesOptions {
  module: StreamModule
  live: LiveStreams
  /** For `GET /api/campaign/{slug}/streams/live`: the campaign and its features. */
  campaigns: Pick<CampaignService, 'get'>
  /** Runs `stream.start`/`pause`/`stop`/`reset_key` for their REST routes (idempotency included). */
  dispatcher: Pick<Dispatcher, 'dispatch'>
  /**
   * The `/ws` gateway's admission, so `/cable` sockets count against the same per-address and
   * per-session limits. A getter: the gateway is built after this plugin is registered.
   */
  admission?: CableServerDeps['admission']
}

/**
 * `/api/v1` (StreamSource-compatible), the ActionCable server on `/cable`, and visitors' read of
 * the campaign's live streams.
 */
export const routes: FastifyPluginAsync<StreamRoutesOptions> = async (
  app,
  { module, live, campaigns, dispatcher, admission },
) => {
  const { accounts, streams, maintenance, limiter, config } = module
  await app.register(v1Plugin, { accounts, streams, maintenance, limiter, config, prefix: '/api/v1' })
  await app.register(liveRoutes, { live, campaigns, dispatcher, limiter, config })
  const cable = createCableServer({
    accounts,
    bus: module.bus,
    isMaintenance: maintenance.enabled,
    log: app.log,
    allowedOrigins: config.CORS_ORIGINS,
    admission,
    metrics: module.cableMetrics,
    commandsPerSecond: config.CABLE_COMMANDS_PER_SECOND,
    credentialReuseMs: config.CABLE_CREDENTIAL_REUSE_MS,
    channels: {
      StreamsChannel: streamsChannel(),
      CollaborativeStreamsChannel: collaborativeChannel({
        store: module.collab,
        bus: module.bus,
        streams,
        lockTtlMs: config.CABLE_LOCK_TTL_MS,
      }),
    },
  })
  cable.attach(app.server)
  let purge: NodeJS.Timeout | undefined
  let ticker: NodeJS.Timeout | undefined
  let ticking = false
  app.addHook('onReady', async () => {
    // Viewer counts of live campaign streams, once a second; a slow tick is skipped, never stacked.
    ticker = setInterval(() => {
      if (ticking) return
      ticking = true
      live
        .tick()
        .catch((err) => app.log.warn({ err }, 'stream viewer tick failed'))
        .finally(() => {
          ticking = false
        })
    }, 1000)
    ticker.unref()
    await module.maintenance.start()
    await cable.start()
    purge = setInterval(() => void module.accounts.purge().catch(() => {}), 60 * 60_000)
    purge.unref()
  })
  app.addHook('preClose', async () => {
    clearInterval(ticker)
    await cable.close()
  })
  app.addHook('onClose', async () => {
    clearInterval(purge)
    await module.maintenance.stop()
  })
}
