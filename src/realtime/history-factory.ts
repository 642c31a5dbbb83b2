import type { Redis } from 'ioredis'
import type { EventBus } from '../platform/bus/bus.js'
import { createMemoryHistory, type EventHistory } from './history.js'
import { createRedisHistory } from './history-redis.js'

/** The event history: in Redis when the nodes share one, in memory otherwise. */
export function createEventHistory(deps: {
  bus: EventBus
  redis?: Redis
  size: number
  maxAgeSeconds: number
}): EventHistory {
  const limits = { size: deps.size, maxAgeMs: deps.maxAgeSeconds * 1000 }
  return deps.redis ? createRedisHistory(deps.redis, limits) : createMemoryHistory(deps.bus, limits)
}
