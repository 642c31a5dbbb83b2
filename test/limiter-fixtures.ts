import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { createUserService, type LoginLimits } from '../src/modules/user/user.service.js'
import { createRateLimiter, type RateLimiter } from '../src/platform/http/rate-limiter.js'
import { closeRedis, createRedis } from '../src/platform/redis.js'
import type { RealtimePublisher } from '../src/realtime/publish.js'
import { REDIS_URL } from './helper.js'

export interface LimiterKind {
  readonly name: string
  /** A fresh limiter: its own keys, on Redis under a prefix of its own. */
  make(): Promise<RateLimiter>
}

/** The limiters a deployment can run: in memory, and on Redis when `REDIS_URL` is set. */
export function limiterKinds(tag: string): LimiterKind[] {
  const kinds: LimiterKind[] = [{ name: 'in memory', make: async () => createRateLimiter() }]
  if (!REDIS_URL) return kinds
  const clients: Redis[] = []
  after(async () => {
    for (const c of clients) await closeRedis(c)
  })
  kinds.push({
    name: 'on Redis',
    make: async () => {
      const redis = await createRedis(REDIS_URL!)
      clients.push(redis)
      return createRateLimiter({ redis, prefix: `${tag}:${randomBytes(6).toString('hex')}:` })
    },
  })
  return kinds
}

/** The app's user service with login limits of the test's own, counted by `limiter`. */
export function usersLimitedBy(app: FastifyInstance, limiter: RateLimiter, loginLimits: LoginLimits) {
  return createUserService({
    db: app.platform.database.db,
    tokens: app.platform.tokens,
    publisher: { publish: async () => {} } as unknown as RealtimePublisher,
    limiter,
    loginLimits,
  })
}
