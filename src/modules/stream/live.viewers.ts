import type { Redis } from 'ioredis'
import { redisScript } from '../../platform/redis-script.js'

/**
 * Viewer counts across nodes. Each node reports how many of its sockets watch a stream; the total
 * is the sum of fresh reports, so a crashed node's viewers drop out within a few seconds.
 */
export interface ViewerCounter {
  report(streamId: number, local: number): Promise<void>
  total(streamId: number): Promise<number>
  /** True on exactly one node per stream and second: that node publishes the tick. */
  elect(streamId: number): Promise<boolean>
}

const FRESH_MS = 3000

export function createMemoryViewerCounter(): ViewerCounter {
  const counts = new Map<number, number>()
  return {
    async report(id, local) {
      counts.set(id, local)
    },
    async total(id) {
      return counts.get(id) ?? 0
    },
    elect: async () => true,
  }
}

/** Redis's own clock in ms: every node's reports are stamped and read by the same clock. */
const REDIS_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/** KEYS[1] the stream's hash; ARGV: node id, its count, freshness ms, the hash's lifetime ms. */
const REPORT = redisScript(
  1,
  `${REDIS_NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1`,
)

/** KEYS[1] the stream's hash: the sum of the fresh reports; the stale ones are removed. */
const TOTAL = redisScript(
  1,
  `${REDIS_NOW}
local all = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #all, 2 do
  local value = all[i + 1]
  local sep = string.find(value, ':', 1, true)
  local count = sep and tonumber(string.sub(value, 1, sep - 1))
  local fresh = sep and tonumber(string.sub(value, sep + 1))
  if count and fresh and fresh >= now then
    sum = sum + count
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return sum`,
)

/**
 * Each node's count is stamped fresh until a time read from Redis's clock, never the node's own:
 * machines whose clocks differ by more than the freshness would otherwise drop (and delete) each
 * other's reports. The read sums and prunes in one step, so it never deletes a report renewed
 * between its read and its delete.
 */
export function createRedisViewerCounter(
  redis: Redis,
  nodeId: string,
  prefix = 'ovasabi:stream:',
): ViewerCounter {
  const key = (id: number) => `${prefix}viewers:${id}`
  return {
    async report(id, local) {
      await REPORT.run(redis, [key(id)], [nodeId, local, FRESH_MS, FRESH_MS * 4])
    },
    async total(id) {
      return Number(await TOTAL.run(redis, [key(id)], []))
    },
    async elect(id) {
      const second = Math.floor(Date.now() / 1000)
      return (await redis.set(`${prefix}tick:${id}:${second}`, nodeId, 'PX', 2000, 'NX')) === 'OK'
    },
  }
}
