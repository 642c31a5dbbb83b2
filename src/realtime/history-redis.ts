import type { Redis } from 'ioredis'
import { namePrefix } from '../platform/redis.js'
import { type EventHistory, type HistoryLimits, replayFrom, type StoredMessage } from './history.js'

const seqKey = (campaign: string) => `ovasabi:rt:seq:${campaign}`
const listKey = (campaign: string) => `ovasabi:rt:h:${campaign}`

// Id, history and publish in one script: ids reach every node in order, and a message is in the
// history before any client can see its id. ARGV[1] is the channel as Redis names it, prefix and
// all: ioredis prefixes KEYS only, and the bus subscribes under `REDIS_PREFIX`.
const PUBLISH = `local id = redis.call('incr', KEYS[1])
local msg = ARGV[2] .. id .. ARGV[3]
redis.call('rpush', KEYS[2], msg)
redis.call('ltrim', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('pexpire', KEYS[2], ARGV[5])
redis.call('publish', ARGV[1], msg)
return id`

/**
 * History in Redis, shared by every node. The message is JSON like the Redis bus sends it, with
 * the id spliced in by the script, so bus subscribers receive it as any other bus message.
 */
export function createRedisHistory(redis: Redis, limits: HistoryLimits): EventHistory {
  return {
    async publish(channel, campaign, message) {
      const { id: _ignored, ...frame } = message.frame
      const rest = JSON.stringify(frame)
      const head = `{"ts":${Date.now()},"audience":${JSON.stringify(message.audience)},"frame":{"id":`
      const tail = rest.length > 2 ? `,${rest.slice(1)}}` : '}}'
      const id = await redis.eval(
        PUBLISH,
        2,
        seqKey(campaign),
        listKey(campaign),
        namePrefix(redis) + channel,
        head,
        tail,
        String(Math.max(1, limits.size)),
        String(limits.maxAgeMs * 2),
      )
      return Number(id)
    },
    async since(campaign, id) {
      const [latest, raw] = await Promise.all([
        redis.get(seqKey(campaign)),
        redis.lrange(listKey(campaign), 0, -1),
      ])
      const entries = raw.map((r) => JSON.parse(r) as StoredMessage)
      return replayFrom(entries, Number(latest ?? 0), id, limits)
    },
    async latest(campaign) {
      return Number((await redis.get(seqKey(campaign))) ?? 0)
    },
  }
}
