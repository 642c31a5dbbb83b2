import type { Redis } from 'ioredis'
import { redisScript } from '../../../platform/redis-script.js'

export interface PresenceEntry {
  connection_id: string
  user_id: string
  user_email: string | null
  seen: number
}

/**
 * Who is in the collaborative editor, and who holds which cell. Memory on one node; Redis when
 * configured, so presence is shared and a lock is exclusive across every node.
 */
export interface CollabStore {
  touch(entry: PresenceEntry): Promise<void>
  leave(connectionId: string): Promise<void>
  /** Everyone seen within the staleness window (a crashed node's users drop out by themselves). */
  present(): Promise<PresenceEntry[]>
  /** `undefined` when taken by someone else; the holder renews its own lock. */
  lock(cellId: string, holder: string, ttlMs: number): Promise<{ expiresAt: number } | undefined>
  unlock(cellId: string, holder: string): Promise<boolean>
  holder(cellId: string): Promise<string | undefined>
}

const STALE_MS = 90_000

export function createMemoryCollabStore(): CollabStore {
  const presence = new Map<string, PresenceEntry>()
  const locks = new Map<string, { holder: string; expiresAt: number }>()
  const live = (cellId: string) => {
    const l = locks.get(cellId)
    if (l && l.expiresAt <= Date.now()) {
      locks.delete(cellId)
      return undefined
    }
    return l
  }
  return {
    async touch(entry) {
      presence.set(entry.connection_id, entry)
    },
    async leave(connectionId) {
      presence.delete(connectionId)
    },
    async present() {
      const cutoff = Date.now() - STALE_MS
      return [...presence.values()].filter((p) => p.seen >= cutoff)
    },
    async lock(cellId, holder, ttlMs) {
      const l = live(cellId)
      if (l && l.holder !== holder) return undefined
      const expiresAt = Date.now() + ttlMs
      locks.set(cellId, { holder, expiresAt })
      return { expiresAt }
    },
    async unlock(cellId, holder) {
      const l = live(cellId)
      if (!l || l.holder !== holder) return false
      locks.delete(cellId)
      return true
    },
    async holder(cellId) {
      return live(cellId)?.holder
    },
  }
}

/** Deletes the lock only when `holder` still owns it (no check-then-delete race). */
const UNLOCK = redisScript(
  1,
  `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`,
)
/** Takes a free lock or renews one's own. */
const LOCK = redisScript(
  1,
  `local v = redis.call('get', KEYS[1])
if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`,
)

export function createRedisCollabStore(redis: Redis, prefix = 'ovasabi:cable:'): CollabStore {
  const presenceKey = `${prefix}presence`
  const lockKey = (cellId: string) => `${prefix}lock:${cellId}`
  return {
    async touch(entry) {
      await redis.hset(presenceKey, entry.connection_id, JSON.stringify(entry))
    },
    async leave(connectionId) {
      await redis.hdel(presenceKey, connectionId)
    },
    async present() {
      const all = await redis.hgetall(presenceKey)
      const cutoff = Date.now() - STALE_MS
      const out: PresenceEntry[] = []
      const stale: string[] = []
      for (const [id, raw] of Object.entries(all)) {
        const entry = JSON.parse(raw) as PresenceEntry
        if (entry.seen >= cutoff) out.push(entry)
        else stale.push(id)
      }
      if (stale.length) await redis.hdel(presenceKey, ...stale)
      return out
    },
    async lock(cellId, holder, ttlMs) {
      const ok = await LOCK.run(redis, [lockKey(cellId)], [holder, ttlMs])
      return Number(ok) === 1 ? { expiresAt: Date.now() + ttlMs } : undefined
    },
    async unlock(cellId, holder) {
      return Number(await UNLOCK.run(redis, [lockKey(cellId)], [holder])) === 1
    },
    async holder(cellId) {
      return (await redis.get(lockKey(cellId))) ?? undefined
    },
  }
}
