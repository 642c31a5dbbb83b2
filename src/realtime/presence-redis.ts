import type { Redis } from 'ioredis'
import { namePrefix } from '../platform/redis.js'
import type { PresenceBackend } from './presence.js'

const PREFIX = 'ovasabi:rt:'
const NODES = `${PREFIX}nodes`
const campaignKey = (campaign: string) => `${PREFIX}p:${campaign}`
const nodeKey = (node: string) => `${PREFIX}pn:${node}`
const heartbeatKey = (node: string) => `${PREFIX}hb:${node}`

// Each node contributes at most 1 per user to `p:{campaign}` (a hash user -> nodes holding it)
// and records what it contributed in `pn:{node}`, so a dead node's share can be taken back.
const JOIN = `if redis.call('hsetnx', KEYS[2], ARGV[2], 1) == 1 then redis.call('hincrby', KEYS[1], ARGV[1], 1) end`
const LEAVE = `if redis.call('hdel', KEYS[2], ARGV[2]) == 1 then
  if redis.call('hincrby', KEYS[1], ARGV[1], -1) <= 0 then redis.call('hdel', KEYS[1], ARGV[1]) end
end`
// Reap one node: subtract everything it contributed, forget it. Atomic, so two reapers are harmless.
// The campaign keys are built here from ARGV[2], which ioredis does not prefix: it carries
// `REDIS_PREFIX` already (see `campaignKeyStem`).
const REAP = `local fields = redis.call('hkeys', KEYS[1])
for _, f in ipairs(fields) do
  local sep = string.find(f, '\\0', 1, true)
  local ck = ARGV[2] .. string.sub(f, 1, sep - 1)
  local user = string.sub(f, sep + 1)
  if redis.call('hincrby', ck, user, -1) <= 0 then redis.call('hdel', ck, user) end
end
redis.call('del', KEYS[1])
return redis.call('srem', KEYS[2], ARGV[1])`
// Returns 1 when the node was not registered (first beat, or another node reaped it meanwhile).
const BEAT = `redis.call('set', KEYS[1], '1', 'PX', ARGV[2])
return redis.call('sadd', KEYS[2], ARGV[1])`

export interface RedisPresenceOptions {
  redis: Redis
  nodeId: string
  /** A node whose heartbeat is older than this is dead. */
  heartbeatTtlMs?: number
  heartbeatEveryMs?: number
  /** Called on this node when it reaped a dead node (to drop that node's cursors everywhere). */
  onReaped: (node: string) => void
  /**
   * This node found itself unregistered after it had registered (another node reaped it during a
   * stall, or Redis lost its data): its users are announced again here; the other nodes dropped
   * its cursors too, which the caller sends again.
   */
  onRejoined?: () => void
}

/** Presence shared through Redis, with node heartbeats so a killed node's users vanish. */
export function createRedisPresence(options: RedisPresenceOptions): PresenceBackend {
  const { redis, nodeId } = options
  /** `p:{campaign}` as the REAP script must name it, with this deployment's prefix. */
  const campaignKeyStem = `${namePrefix(redis)}${PREFIX}p:`
  const ttl = options.heartbeatTtlMs ?? 4000
  const every = options.heartbeatEveryMs ?? 1000
  const counts = new Map<string, number>()
  const inFlight = new Set<string>()
  let resync: () => Array<[string, string]> = () => []
  let closed = false
  let registered = false
  const fail = () => {} // Redis reconnects by itself; the next beat or refresh repairs the state

  const join = (campaign: string, key: string) =>
    redis.eval(JOIN, 2, campaignKey(campaign), nodeKey(nodeId), key, `${campaign}\0${key}`).catch(fail)

  async function beat() {
    const fresh = await redis.eval(BEAT, 2, heartbeatKey(nodeId), NODES, nodeId, String(ttl))
    if (fresh !== 1) return
    const rejoined = registered
    registered = true
    // Reaped while alive (e.g. a long pause): announce our users again.
    for (const [campaign, key] of resync()) await join(campaign, key)
    if (rejoined && !closed) options.onRejoined?.()
  }

  async function reapDead() {
    const nodes = await redis.smembers(NODES)
    for (const node of nodes) {
      if (node === nodeId) continue
      if ((await redis.exists(heartbeatKey(node))) === 1) continue
      const removed = await redis.eval(REAP, 2, nodeKey(node), NODES, node, campaignKeyStem)
      if (removed === 1) options.onReaped(node)
    }
  }

  void beat().catch(fail)
  const beatTimer = setInterval(() => void beat().catch(fail), every)
  const reapTimer = setInterval(() => void reapDead().catch(fail), every * 2)
  beatTimer.unref()
  reapTimer.unref()

  return {
    join(campaign, key) {
      void join(campaign, key)
    },
    leave(campaign, key) {
      void redis
        .eval(LEAVE, 2, campaignKey(campaign), nodeKey(nodeId), key, `${campaign}\0${key}`)
        .catch(fail)
    },
    absorb(campaign, sessionKey) {
      // The nodes that still hold the session keep it in their `pn:` sets: their LEAVE, or a
      // reap, then finds the field gone and takes nothing more (the script drops counts <= 0).
      void redis.hdel(campaignKey(campaign), sessionKey).catch(fail)
    },
    refresh(campaign) {
      if (closed || inFlight.has(campaign)) return
      inFlight.add(campaign)
      redis
        .hlen(campaignKey(campaign))
        .then((n) => void counts.set(campaign, n))
        .catch(fail)
        .finally(() => inFlight.delete(campaign))
    },
    count: (campaign) => counts.get(campaign),
    setResync(fn) {
      resync = fn
    },
    async close() {
      closed = true
      clearInterval(beatTimer)
      clearInterval(reapTimer)
      await redis.eval(REAP, 2, nodeKey(nodeId), NODES, nodeId, campaignKeyStem).catch(fail)
      await redis.del(heartbeatKey(nodeId)).catch(fail)
    },
  }
}
