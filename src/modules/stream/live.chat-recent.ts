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

/** KEYS[1] the streams index; ARGV[1] the key prefix of the lists, ARGV[2] the erased user id. */
const FORGET = `
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  local kept = {}
  local changed = false
  for _, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local ok, m = pcall(cjson.decode, raw)
    if ok and type(m) == 'table' and m.user_id == ARGV[2] then changed = true else kept[#kept + 1] = raw end
  end
  if changed then
    local ttl = redis.call('PTTL', key)
    redis.call('DEL', key)
    if #kept > 0 then
      redis.call('RPUSH', key, unpack(kept))
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
    end
  end
  if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[1], id) end
end
return 1`

/**
 * One capped list per stream (`…chat:<id>`), renewed with each message; a set indexes the streams
 * that have one, so an erasure finds the person's messages without scanning the server's keys.
 */
export function createRedisRecentChat(redis: Redis, prefix = 'ovasabi:stream:'): RecentChat {
  const lists = `${prefix}chat:`
  const index = `${prefix}chat-streams`
  return {
    async push(id, message) {
      await redis
        .multi()
        .rpush(lists + id, JSON.stringify(message))
        .ltrim(lists + id, -RECENT_CHAT, -1)
        .pexpire(lists + id, RECENT_CHAT_TTL_MS)
        .sadd(index, String(id))
        .exec()
    },
    async recent(id) {
      const raw = await redis.lrange(lists + id, 0, -1)
      return raw.map((r) => JSON.parse(r) as ChatFrame)
    },
    async drop(id) {
      await redis
        .multi()
        .del(lists + id)
        .srem(index, String(id))
        .exec()
    },
    async forget(userId) {
      // The lists' names go in as an argument: the key prefix ioredis adds is put before it here.
      const keyPrefix = (redis.options.keyPrefix ?? '') + lists
      await redis.eval(FORGET, 1, index, keyPrefix, userId)
    },
  }
}
