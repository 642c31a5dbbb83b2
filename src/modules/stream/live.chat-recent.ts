import type { Redis } from 'ioredis'
import { execPipeline, redisScript } from '../../platform/redis-script.js'

/** How many of a stream's latest chat messages a socket joining it gets (as Twitch and YouTube do). */
export const RECENT_CHAT = 50
/** A stream's recent chat is forgotten after this long without a message (and when it ends). */
const RECENT_CHAT_TTL_MS = 6 * 60 * 60_000

/** A chat `stream_event` as it was sent. */
export type ChatFrame = { type: 'stream_event'; kind: 'chat'; stream_id: number; user_id: string } & Record<
  string,
  unknown
>

/**
 * Each stream's latest chat messages, oldest first, for viewers who join late: in Redis (shared by
 * every node) with REDIS_URL, else in this process.
 */
export interface RecentChat {
  push(streamId: number, message: ChatFrame): Promise<void>
  /** A message `push` kept but the send then refused is taken back (the same object). */
  withdraw(streamId: number, message: ChatFrame): Promise<void>
  recent(streamId: number): Promise<ChatFrame[]>
  /** The stream ended: its chat is kept no longer. */
  drop(streamId: number): Promise<void>
  /** Erasure: the person's messages leave every stream's recent chat. */
  forget(userId: string): Promise<void>
}

export function createMemoryRecentChat(): RecentChat {
  const lists = new Map<number, { messages: ChatFrame[]; expires: number }>()
  const fresh = (id: number) => {
    const list = lists.get(id)
    if (list && list.expires <= Date.now()) lists.delete(id)
    return lists.get(id)
  }
  return {
    async push(id, message) {
      const list = fresh(id) ?? { messages: [], expires: 0 }
      list.messages.push(message)
      if (list.messages.length > RECENT_CHAT) list.messages.splice(0, list.messages.length - RECENT_CHAT)
      list.expires = Date.now() + RECENT_CHAT_TTL_MS
      lists.set(id, list)
    },
    async withdraw(id, message) {
      const list = lists.get(id)
      if (list) list.messages = list.messages.filter((m) => m !== message)
    },
    async recent(id) {
      return [...(fresh(id)?.messages ?? [])]
    },
    async drop(id) {
      lists.delete(id)
    },
    async forget(userId) {
      for (const list of lists.values()) list.messages = list.messages.filter((m) => m.user_id !== userId)
    },
  }
}

/**
 * How long a stream stays in the index after its last message: longer than its list lives, by a
 * margin for the step between the two writes and for the clocks of the Redis servers (in a
 * Cluster the index and the list may sit on different ones).
 */
const INDEX_KEEP_MS = RECENT_CHAT_TTL_MS + 60 * 60_000

/**
 * KEYS[1] the index (stream id → until when its list may live, by Redis's clock); ARGV[1] the
 * stream id, ARGV[2] how long it is kept. Entries past their time are pruned on the way.
 */
const INDEX = redisScript(
  1,
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1`,
)

/** KEYS[1] one stream's list; ARGV[1] a message, ARGV[2] how many the list keeps, ARGV[3] its lifetime ms. */
const KEEP = redisScript(
  1,
  `redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`,
)

/** KEYS[1] one stream's list; ARGV[1] the erased user id: their messages go, the rest keeps its TTL. */
const FORGET = redisScript(
  1,
  `
local kept = {}
local changed = false
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, m = pcall(cjson.decode, raw)
  if ok and type(m) == 'table' and m.user_id == ARGV[1] then changed = true else kept[#kept + 1] = raw end
end
if not changed then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
if #kept > 0 then
  redis.call('RPUSH', KEYS[1], unpack(kept))
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 1`,
)

/**
 * One capped list per stream (`…chat:<id>`), renewed with each message; a sorted set indexes the
 * streams that may have one, so an erasure finds the person's messages without scanning the
 * server's keys.
 *
 * Redis Cluster: a script or a MULTI may touch only the keys it declares, all in one hash slot, and
 * the lists and the index hash to different slots. So no step spans them: a message is kept by two
 * scripts that each declare their one key, the index's before the list's, sent together in one
 * pipeline (one round trip: the list's does not wait for the index's answer). On the one
 * connection this client has, Redis runs them in the order sent; when Redis has forgotten its
 * scripts (NOSCRIPT) both fail, and ioredis sends them again in that order. (A client spreading
 * the keys over several servers would have to await the index's first.) An erasure reads the
 * index, then rewrites each list in a script that declares that list alone. Nothing but time takes
 * a stream out of the index (an entry outlives its list, `INDEX_KEEP_MS`), so a list that exists is
 * always indexed: a removal racing a push could otherwise leave a list that no erasure finds. Each
 * list is read and rewritten in one step, so a message pushed to it before its rewrite goes too; a
 * stream whose first message came after the index was read is found by reading it again, until a
 * read names no stream not yet rewritten.
 */
export function createRedisRecentChat(redis: Redis, prefix = 'ovasabi:stream:'): RecentChat {
  const lists = `${prefix}chat:`
  const index = `${prefix}chat-index`
  /** The set that indexed the lists before the sorted set (older nodes still write it). */
  const legacyIndex = `${prefix}chat-streams`
  for (const script of [INDEX, KEEP, FORGET]) script.define(redis)
  const indexed = async () => {
    const [ids, legacy] = await Promise.all([redis.zrange(index, 0, -1), redis.smembers(legacyIndex)])
    return new Set([...ids, ...legacy])
  }
  return {
    async push(id, message) {
      const batch = redis.pipeline()
      INDEX.queue(batch, [index], [String(id), INDEX_KEEP_MS])
      KEEP.queue(batch, [lists + id], [JSON.stringify(message), RECENT_CHAT, RECENT_CHAT_TTL_MS])
      await execPipeline(batch)
    },
    async withdraw(id, message) {
      // The bytes `push` stored: the frame serialises the same way twice.
      await redis.lrem(lists + id, -1, JSON.stringify(message))
    },
    async recent(id) {
      const raw = await redis.lrange(lists + id, 0, -1)
      return raw.map((r) => JSON.parse(r) as ChatFrame)
    },
    async drop(id) {
      // The index entry stays until its time (see above): a message still on its way may yet
      // make the list again, and an erasure must find it.
      await redis.del(lists + id)
    },
    async forget(userId) {
      const done = new Set<string>()
      for (;;) {
        const ids = [...(await indexed())].filter((id) => !done.has(id))
        if (ids.length === 0) return
        for (const id of ids) {
          await FORGET.run(redis, [lists + id], [userId])
          done.add(id)
        }
      }
    },
  }
}
