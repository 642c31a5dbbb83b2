import type { Redis } from 'ioredis'

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
const INDEX = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1`

/** KEYS[1] one stream's list; ARGV[1] the erased user id: their messages go, the rest keeps its TTL. */
const FORGET = `
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
return 1`

/**
 * One capped list per stream (`…chat:<id>`), renewed with each message; a sorted set indexes the
 * streams that may have one, so an erasure finds the person's messages without scanning the
 * server's keys.
 *
 * Redis Cluster: a script or a MULTI may touch only the keys it declares, all in one hash slot, and
 * the lists and the index hash to different slots. So no step spans them: the index is written
 * first (and awaited: in a Cluster the two writes go to different servers), then the list in a
 * MULTI of its own; an erasure reads the index, then rewrites each list in a script that declares
 * that list alone. Nothing but time takes a stream out of the index (an entry outlives its list,
 * `INDEX_KEEP_MS`), so a list that exists is always indexed: a removal racing a push could
 * otherwise leave a list that no erasure finds. Each list is read and rewritten in one step, so a
 * message pushed to it before its rewrite goes too; a stream whose first message came after the
 * index was read is found by reading it again, until a read names no stream not yet rewritten.
 */
export function createRedisRecentChat(redis: Redis, prefix = 'ovasabi:stream:'): RecentChat {
  const lists = `${prefix}chat:`
  const index = `${prefix}chat-index`
  /** The set that indexed the lists before the sorted set (older nodes still write it). */
  const legacyIndex = `${prefix}chat-streams`
  const indexed = async () => {
    const [ids, legacy] = await Promise.all([redis.zrange(index, 0, -1), redis.smembers(legacyIndex)])
    return new Set([...ids, ...legacy])
  }
  return {
    async push(id, message) {
      await redis.eval(INDEX, 1, index, String(id), INDEX_KEEP_MS)
      await redis
        .multi()
        .rpush(lists + id, JSON.stringify(message))
        .ltrim(lists + id, -RECENT_CHAT, -1)
        .pexpire(lists + id, RECENT_CHAT_TTL_MS)
        .exec()
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
          await redis.eval(FORGET, 1, lists + id, userId)
          done.add(id)
        }
      }
    },
  }
}
