import { createRequire } from 'node:module'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'

type Store = FastifyRateLimitStore
type RouteOptions = Parameters<Store['child']>[0]

// `@fastify/rate-limit`'s own stores (CommonJS, without type declarations of their own).
const require = createRequire(import.meta.url)
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding?: boolean,
  exponentialBackoff?: boolean,
) => Store
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean | undefined,
  exponentialBackoff: boolean | undefined,
  redis: Redis,
  key: string,
) => Store

/** How long the global limit counts on its own after Redis failed, before asking Redis again. */
const RETRY_MS = 5000

/** ioredis states of a client that lost its connection: a command would wait out its timeout. */
const NOT_CONNECTED = new Set(['close', 'reconnecting', 'end'])

/**
 * The store of the global per-client limit (`@fastify/rate-limit`): Redis, so every node shares
 * the counts, and this process's own counts while Redis cannot answer, as `createRateLimiter` does
 * for the business limits. The plugin's Redis store with `skipOnError` made every request of an
 * outage wait out the command timeout (2 s) and then go unlimited; now no request waits on a Redis
 * that is not connected, the limit holds per node, and Redis is asked again every few seconds.
 */
export function fallbackLimitStore(redis: Redis, nameSpace: string): FastifyRateLimitStoreCtor {
  let downUntil = 0
  const redisIsDown = () => NOT_CONNECTED.has(redis.status) || Date.now() < downUntil

  class FallbackLimitStore implements Store {
    constructor(
      private readonly shared: Store,
      private readonly local: Store,
    ) {}

    incr(key: string, cb: Parameters<Store['incr']>[1], timeWindow: number, max: number): void {
      if (redisIsDown()) {
        this.local.incr(key, cb, timeWindow, max)
        return
      }
      this.shared.incr(
        key,
        (err, res) => {
          if (!err) {
            cb(null, res)
            return
          }
          downUntil = Date.now() + RETRY_MS
          this.local.incr(key, cb, timeWindow, max)
        },
        timeWindow,
        max,
      )
    }

    child(routeOptions: RouteOptions): Store {
      return new FallbackLimitStore(this.shared.child(routeOptions), this.local.child(routeOptions))
    }
  }

  // The plugin constructs its store with its global options.
  return class extends FallbackLimitStore {
    constructor(options: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
      const { continueExceeding, exponentialBackoff } = options
      super(
        new RedisStore(continueExceeding, exponentialBackoff, redis, nameSpace),
        new LocalStore(continueExceeding, exponentialBackoff),
      )
    }
  }
}
