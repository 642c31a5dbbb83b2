import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { type ApiKeyService, createApiKeyService } from './auth/apikeys.js'
import { createTokenService, type TokenService } from './auth/tokens.js'
import type { EventBus } from './bus/bus.js'
import { createMemoryBus } from './bus/memory.js'
import { createRedisBus } from './bus/redis.js'
import { createDatabase, type DatabaseHandle } from './db/database.js'
import { migrateToLatest, refusePendingMigrations } from './db/migrate.js'
import { HealthRegistry } from './observability/health.js'
import { createMetrics, type Metrics } from './observability/metrics.js'
import { closeRedis, createRedis, redisAnswers } from './redis.js'

/** How long `/health` and `/health/ready` wait for Redis's PING before reporting it down. */
const REDIS_PROBE_ANSWER_MS = 250

/** Infrastructure shared by every module: built once per process, closed once at shutdown. */
export interface Platform {
  config: Config
  database: DatabaseHandle
  bus: EventBus
  /** Present when `REDIS_URL` is set. */
  redis?: Redis
  tokens: TokenService
  apiKeys: ApiKeyService
  metrics: Metrics
  health: HealthRegistry
  /**
   * The first step of shutdown: a Redis that does not answer a PING within `REDIS_CLOSE_TIMEOUT_MS`
   * (down, or stalled: connected but silent) is disconnected, without reconnecting, so the
   * shutdown steps after it that talk to Redis fail at once instead of each waiting out the
   * command timeout. Resolves whether it let Redis go. What the database holds is not affected.
   */
  releaseUnresponsiveRedis(): Promise<boolean>
  close(): Promise<void>
}

export interface PlatformOptions {
  /**
   * Apply migrations first (default true); `'refuse-pending'`: fail with `PendingMigrationsError`
   * instead when the database is behind (read-only tools; see `refusePendingMigrations`).
   */
  migrate?: boolean | 'refuse-pending'
  /** PGlite in memory instead of `DATA_DIR` (tests). */
  memoryDatabase?: boolean
  /**
   * With `memoryDatabase`: start from this image of a data directory (`PGlite.dumpDataDir`)
   * instead of an empty one. Migrations still run, and apply what the image lacks.
   */
  databaseImage?: Blob
  onBusError?: (err: unknown) => void
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const database = await createDatabase(config, {
    memory: options.memoryDatabase,
    image: options.databaseImage,
  })
  let redis: Redis | undefined
  try {
    if (options.migrate === 'refuse-pending') await refusePendingMigrations(database.db)
    else if (options.migrate !== false) await migrateToLatest(database.db)
    redis = config.REDIS_URL
      ? await createRedis(config.REDIS_URL, { prefix: config.REDIS_PREFIX })
      : undefined
  } catch (err) {
    await database.close()
    redis?.disconnect()
    throw err
  }
  const redisBus = redis ? createRedisBus(redis, options.onBusError) : undefined
  const bus = redisBus ?? createMemoryBus(options.onBusError)
  const health = new HealthRegistry()
  health.register('database', async () => {
    await database.ping()
    return { status: 'up', details: database.dialect }
  })
  if (redis && redisBus) {
    const client = redis
    // Not critical: every node shares this Redis, so failing readiness over it would take every
    // node out of the balancer at once, while REST keeps working (rate limits fail open). It
    // shows as `degraded`, with redis down, on /health and /health/ready.
    health.register(
      'redis',
      async () => {
        // Not connected: down at once. A PING would wait in the offline queue for the command
        // timeout (2 s), longer than a probe's usual 1 s deadline.
        if (client.status !== 'ready') throw new Error(`not connected (${client.status})`)
        await client.ping()
        return { status: 'up' }
      },
      // A stalled Redis (connected, silent) answers no PING: probes report it down at once while
      // one PING at a time waits out the command timeout in the background.
      { critical: false, answerWithinMs: REDIS_PROBE_ANSWER_MS },
    )
    const subscriber = redisBus
    // The subscriber connection (every event this node hears comes over it): lost while Redis
    // answers, the fault is this node's alone and readiness fails (503), so the balancer sends its
    // traffic to nodes whose sockets still hear events; lost with Redis, `redis` says why, and
    // failing every node's readiness at once would serve no one.
    health.register(
      'event_bus',
      async () => {
        try {
          await subscriber.listening()
          return { status: 'up', details: 'redis pub/sub' }
        } catch (err) {
          // Whose fault, from the connections' states (no PING more: a stalled Redis holds one per
          // check already): the subscriber lost while the command connection is up is this node's.
          const own = client.status === 'ready' && subscriber.subscriberStatus() !== 'ready'
          return { status: 'down', critical: own, details: (err as Error).message }
        }
      },
      // Critical only as the check says: a probe that got no answer in time cannot tell a stalled
      // subscriber from a stalled Redis (which `redis` reports without failing readiness).
      { critical: false, answerWithinMs: REDIS_PROBE_ANSWER_MS },
    )
  } else {
    health.register('event_bus', async () => ({ status: 'up', details: 'in-process (memory)' }), {
      critical: true,
    })
    health.register(
      'redis',
      async () => ({ status: 'disabled', details: 'REDIS_URL not set: in-memory bus' }),
      {
        critical: false,
      },
    )
  }
  return {
    config,
    database,
    bus,
    redis,
    tokens: createTokenService({ secret: config.JWT_SECRET, ttlSeconds: config.SESSION_TTL_SECONDS }),
    apiKeys: createApiKeyService({ db: database.db, bus, onError: options.onBusError }),
    metrics: createMetrics(),
    health,
    async releaseUnresponsiveRedis() {
      if (!redis || redis.status === 'end' || (await redisAnswers(redis))) return false
      redisBus?.letGo() // the command connection (the bus publishes on it) and the subscriber
      return true
    },
    async close() {
      await bus.close()
      if (redis) await closeRedis(redis)
      await database.close()
    },
  }
}
