import type { Cluster, Redis } from 'ioredis'
import type { PresenceBackend } from './presence.js'

/** Where one generation of presence keeps its keys in Redis. */
interface PresenceNames {
  /** The registry of nodes (a set). */
  nodes: string
  /** `campaign`'s users: a hash user -> how many nodes hold them. */
  campaign(campaign: string): string
  /** What `node` contributed: a hash of `<campaign>\0<user>` fields. */
  node(node: string): string
  /** `node`'s heartbeat, gone when it is dead. */
  heartbeat(node: string): string
}

const names = (base: string): PresenceNames => ({
  nodes: `${base}nodes`,
  campaign: (campaign) => `${base}p:${campaign}`,
  node: (node) => `${base}pn:${node}`,
  heartbeat: (node) => `${base}hb:${node}`,
})

/**
 * Every presence key carries the hash tag `{presence}`: on Redis Cluster they all hash to one slot,
 * so a script may touch a node's keys, the registry and any campaign's users together. (Every key
 * a script touches is also passed in KEYS, as Redis asks.)
 */
const CURRENT = names('ovasabi:rt:{presence}:')
/**
 * The names of nodes before the hash tag (never usable on a cluster: their scripts are cross-slot).
 * During a rolling upgrade the new nodes reap old nodes that die there, and count their users too.
 */
const LEGACY = names('ovasabi:rt:')

// Each node contributes at most 1 per user to `p:{campaign}` (a hash user -> nodes holding it)
// and records what it contributed in `pn:{node}`, so a dead node's share can be taken back.
const JOIN = `if redis.call('hsetnx', KEYS[2], ARGV[2], 1) == 1 then redis.call('hincrby', KEYS[1], ARGV[1], 1) end`
const LEAVE = `if redis.call('hdel', KEYS[2], ARGV[2]) == 1 then
  if redis.call('hincrby', KEYS[1], ARGV[1], -1) <= 0 then redis.call('hdel', KEYS[1], ARGV[1]) end
end`
// Reap one node (KEYS[1] what it contributed, KEYS[2] the registry, ARGV[1] the node): subtract
// everything it contributed, forget it. KEYS[3…] are the users of the campaigns ARGV[2…], those its
// contributions named when the caller read them; one it contributed to since (a node reaped while
// alive) is not declared, so nothing is done and -1 asks the caller to read again. Atomic, and a
// second run finds nothing to take, so two reapers are harmless.
const REAP = `local users = {}
for i = 3, #KEYS do users[ARGV[i - 1]] = KEYS[i] end
local taken = {}
for i, f in ipairs(redis.call('hkeys', KEYS[1])) do
  local sep = string.find(f, '\\0', 1, true)
  local key = users[string.sub(f, 1, sep - 1)]
  if not key then return -1 end
  taken[i] = { key, string.sub(f, sep + 1) }
end
for _, t in ipairs(taken) do
  if redis.call('hincrby', t[1], t[2], -1) <= 0 then redis.call('hdel', t[1], t[2]) end
end
redis.call('del', KEYS[1])
return redis.call('srem', KEYS[2], ARGV[1])`
// Returns 1 when the node was not registered (first beat, or another node reaped it meanwhile).
const BEAT = `redis.call('set', KEYS[1], '1', 'PX', ARGV[2])
return redis.call('sadd', KEYS[2], ARGV[1])`

/** Reads before a reap gives up for this round (the node keeps joining: it is not dead). */
const REAP_ATTEMPTS = 5

export interface RedisPresenceOptions {
  /** A Redis connection, or a Redis Cluster one (presence keeps to one slot). */
  redis: Redis | Cluster
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
  const { redis } = options
  const { nodeId } = options
  const ttl = options.heartbeatTtlMs ?? 4000
  const every = options.heartbeatEveryMs ?? 1000
  const counts = new Map<string, number>()
  const inFlight = new Set<string>()
  let resync: () => Array<[string, string]> = () => []
  let closed = false
  let registered = false
  /** Nodes of the version before `{presence}` are registered (a rolling upgrade from it). */
  let legacyNodes = false
  const fail = () => {} // Redis reconnects by itself; the next beat or refresh repairs the state

  const join = (campaign: string, key: string) =>
    redis
      .eval(JOIN, 2, CURRENT.campaign(campaign), CURRENT.node(nodeId), key, `${campaign}\0${key}`)
      .catch(fail)

  /** Takes `node`'s contributions back and unregisters it; true when this call unregistered it. */
  async function reap(at: PresenceNames, node: string): Promise<boolean> {
    for (let attempt = 0; attempt < REAP_ATTEMPTS; attempt++) {
      const fields = await redis.hkeys(at.node(node))
      const campaigns = [...new Set(fields.map((f) => f.slice(0, f.indexOf('\0'))))]
      const removed = await redis.eval(
        REAP,
        2 + campaigns.length,
        at.node(node),
        at.nodes,
        ...campaigns.map(at.campaign),
        node,
        ...campaigns,
      )
      if (removed !== -1) return removed === 1
    }
    return false // the next round tries again
  }

  async function beat() {
    const fresh = await redis.eval(BEAT, 2, CURRENT.heartbeat(nodeId), CURRENT.nodes, nodeId, String(ttl))
    if (fresh !== 1) return
    const rejoined = registered
    registered = true
    // Reaped while alive (e.g. a long pause): announce our users again.
    for (const [campaign, key] of resync()) await join(campaign, key)
    if (rejoined && !closed) options.onRejoined?.()
  }

  async function reapDead() {
    for (const at of [CURRENT, LEGACY]) {
      const nodes = await redis.smembers(at.nodes)
      if (at === LEGACY) legacyNodes = nodes.length > 0
      for (const node of nodes) {
        if (node === nodeId) continue
        if ((await redis.exists(at.heartbeat(node))) === 1) continue
        if (await reap(at, node)) options.onReaped(node)
      }
    }
  }

  /** The campaign's users, those of older nodes' keys too while there are any. */
  async function countUsers(campaign: string): Promise<number> {
    if (!legacyNodes) return redis.hlen(CURRENT.campaign(campaign))
    const [now, before] = await Promise.all([
      redis.hkeys(CURRENT.campaign(campaign)),
      redis.hkeys(LEGACY.campaign(campaign)),
    ])
    return new Set([...now, ...before]).size
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
        .eval(LEAVE, 2, CURRENT.campaign(campaign), CURRENT.node(nodeId), key, `${campaign}\0${key}`)
        .catch(fail)
    },
    absorb(campaign, sessionKey) {
      // The nodes that still hold the session keep it in their `pn:` sets: their LEAVE, or a
      // reap, then finds the field gone and takes nothing more (the script drops counts <= 0).
      void redis.hdel(CURRENT.campaign(campaign), sessionKey).catch(fail)
      if (legacyNodes) void redis.hdel(LEGACY.campaign(campaign), sessionKey).catch(fail)
    },
    refresh(campaign) {
      if (closed || inFlight.has(campaign)) return
      inFlight.add(campaign)
      countUsers(campaign)
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
      await reap(CURRENT, nodeId).catch(fail)
      await redis.del(CURRENT.heartbeat(nodeId)).catch(fail)
    },
  }
}
