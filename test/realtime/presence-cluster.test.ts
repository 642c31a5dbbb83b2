import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Cluster, Redis } from 'ioredis'
import { closeRedis, createRedis } from '../../src/platform/redis.js'
import { createRedisPresence } from '../../src/realtime/presence-redis.js'
import type { PresenceBackend } from '../../src/realtime/presence.js'
import { REDIS_URL, uniqueSlug } from '../helper.js'
import { monitorConnection } from '../redis-monitor.js'
import { waitUntil } from './client.js'

// Presence on Redis Cluster. Its scripts passed keys of several slots (a campaign's users and a
// node's contributions: CROSSSLOT, so no join ever counted), and REAP built campaign key names
// inside Lua, which Redis does not allow (a cluster routes a script by its declared keys only).
// Every key a script touches must be declared, and all of one script's keys hash to one slot.

const redisServer = (() => {
  try {
    return execFileSync('which', ['redis-server']).toString().trim() || undefined
  } catch {
    return undefined
  }
})()

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A one-node Redis Cluster (every slot on it) on a spare port, in a directory of its own. */
async function startCluster(): Promise<{ port: number; stop(): void }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-cluster-'))
  const server: ChildProcess = spawn(
    redisServer!,
    ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--dir', dir]
      // Without it the node names itself with an empty address, which clients cannot reach.
      .concat(['--cluster-announce-ip', '127.0.0.1'])
      .concat(['--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no']),
    { stdio: 'ignore' },
  )
  // Commands wait until the server accepts the connection.
  const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 50 })
  admin.on('error', () => {})
  try {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')
    await waitUntil(
      async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
      10_000,
      'the cluster to be up',
    )
  } finally {
    admin.disconnect()
  }
  return {
    port,
    stop() {
      server.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Every script's commands as MONITOR shows them (`[0 lua] "hincrby" "key" …` after the EVAL they
 * run in): the keys each touches that its EVAL did not declare.
 */
function undeclaredKeys(monitor: Redis) {
  const found: string[] = []
  let declared = new Set<string>()
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const command = args[0]!.toLowerCase()
    if (source !== 'lua') {
      if (command === 'eval' || command === 'evalsha') declared = new Set(args.slice(3, 3 + Number(args[2])))
      return
    }
    // The commands presence's scripts use, each naming one key first.
    const oneKey = ['hkeys', 'hincrby', 'hdel', 'hsetnx', 'del', 'srem', 'sadd', 'set']
    if (!oneKey.includes(command)) found.push(`${command} (unknown to this test)`)
    else if (!declared.has(args[1]!)) found.push(`${command} ${args[1]}`)
  })
  return found
}

async function countOf(presence: PresenceBackend, campaign: string, n: number, what: string) {
  await waitUntil(
    () => {
      presence.refresh(campaign)
      return presence.count(campaign) === n
    },
    10_000,
    `${what}: ${n} (last ${presence.count(campaign)})`,
  )
}

describe('presence on Redis Cluster', { skip: !redisServer && 'no redis-server binary' }, () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>
  let monitor: Redis
  let found: string[]
  const clients: Cluster[] = []
  const connectCluster = (prefix?: string) => {
    const c = new Cluster([{ host: '127.0.0.1', port: cluster.port }], {
      ...(prefix ? { keyPrefix: `${prefix}:` } : {}),
      redisOptions: { maxRetriesPerRequest: 1 },
    })
    c.on('error', () => {})
    clients.push(c)
    return c
  }
  before(async () => {
    cluster = await startCluster()
    monitor = await monitorConnection(`redis://127.0.0.1:${cluster.port}`)
    found = undeclaredKeys(monitor)
  })
  after(() => {
    for (const c of clients) c.disconnect()
    monitor?.disconnect()
    cluster?.stop()
  })

  for (const prefix of [undefined, 'staging']) {
    it(`counts users across nodes and reaps a dead node's${prefix ? ` (REDIS_PREFIX=${prefix})` : ''}`, async () => {
      const reaped: string[] = []
      const viaA = connectCluster(prefix)
      const nodeA = `a_${uniqueSlug('n')}`
      const a = createRedisPresence({
        redis: viaA,
        nodeId: nodeA,
        heartbeatTtlMs: 600,
        heartbeatEveryMs: 100,
        onReaped: () => {},
      })
      const b = createRedisPresence({
        redis: connectCluster(prefix),
        nodeId: `b_${uniqueSlug('n')}`,
        heartbeatTtlMs: 600,
        heartbeatEveryMs: 100,
        onReaped: (node) => reaped.push(node),
      })
      const one = uniqueSlug('c')
      const two = uniqueSlug('c')
      try {
        a.join(one, 'user_1')
        a.join(one, 'user_both')
        a.join(two, 'user_2')
        b.join(one, 'user_both')
        b.join(one, 'user_3')
        await countOf(b, one, 3, 'users of the first campaign')
        await countOf(b, two, 1, 'users of the second campaign')
        b.leave(one, 'user_3')
        await countOf(b, one, 2, 'after a leave')

        // Node A dies: no heartbeat, no goodbye. Node B takes its users back.
        viaA.disconnect()
        await waitUntil(() => reaped.includes(nodeA), 10_000, 'node A to be reaped')
        await countOf(b, one, 1, 'the first campaign without node A')
        await countOf(b, two, 0, 'the second campaign without node A')
        assert.deepEqual(found, [], 'every key a script touched was declared')
      } finally {
        await b.close()
        await a.close()
      }
      // B's close reaped itself: nothing left.
      const raw = connectCluster(prefix)
      assert.equal(await raw.hlen(`ovasabi:rt:{presence}:p:${one}`), 0)
      assert.equal(await raw.exists(`ovasabi:rt:{presence}:pn:${nodeA}`), 0)
      assert.deepEqual(found, [])
    })
  }
})

describe('presence keys of nodes before the hash tag (a rolling upgrade)', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const prefix = `up_${uniqueSlug('p')}`
  let redis: Redis
  let raw: Redis
  before(async () => {
    redis = await createRedis(REDIS_URL!, { prefix })
    raw = new Redis(REDIS_URL!)
  })
  after(async () => {
    await closeRedis(redis)
    raw.disconnect()
  })

  it("reaps a dead old node's users, keeps a live one's, and counts both", async () => {
    const campaign = uniqueSlug('c')
    const old = (name: string) => `${prefix}:ovasabi:rt:${name}`
    // An old node killed without a goodbye, and one alive (its heartbeat fresh).
    await raw.sadd(old('nodes'), 'old_dead', 'old_alive')
    await raw.set(old('hb:old_alive'), '1', 'PX', 60_000)
    await raw.hset(old('pn:old_dead'), `${campaign}\0user_dead`, '1', `${campaign}\0user_both`, '1')
    await raw.hset(old('pn:old_alive'), `${campaign}\0user_alive`, '1', `${campaign}\0user_both`, '1')
    await raw.hset(old(`p:${campaign}`), 'user_dead', '1', 'user_alive', '1', 'user_both', '2')
    const reaped: string[] = []
    const presence = createRedisPresence({
      redis,
      nodeId: `new_${uniqueSlug('n')}`,
      heartbeatEveryMs: 100,
      onReaped: (node) => reaped.push(node),
    })
    try {
      presence.join(campaign, 'user_new')
      presence.join(campaign, 'user_both')
      await waitUntil(() => reaped.includes('old_dead'), 10_000, 'the old node to be reaped')
      assert.deepEqual(await raw.hgetall(old(`p:${campaign}`)), { user_alive: '1', user_both: '1' })
      assert.equal(await raw.exists(old('pn:old_dead')), 0)
      assert.deepEqual(await raw.smembers(old('nodes')), ['old_alive'])
      // While old nodes are about, their users count too (a person on both counts once).
      await countOf(presence, campaign, 3, 'user_alive, user_both, user_new')
    } finally {
      await presence.close()
      await raw.del(old('nodes'), old('hb:old_alive'), old('pn:old_alive'), old(`p:${campaign}`))
    }
  })
})
