// Idle connections: RSS per authenticated, idle socket. One server process cannot hold more than
// ~19 990 sockets here (hard open-files limit 20 000), so 20 000+ is measured the way an operator
// scales out: `nodes` Ovasabi processes sharing one Redis, each with its share of the sockets.
import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import WebSocket from 'ws'
import { createTokenService } from '../../src/platform/auth/tokens.js'
import { message, secret, sleep, start, startServer, usage } from './spawn.js'

export interface IdleNode {
  port: number
  open: number
  failed: number
  rss_before_mb: number
  rss_after_mb: number
  kb_per_conn: number
  /** `ovasabi_ws_connections` from the node's own /metrics: the sockets it really holds. */
  gauge: number
}

export interface IdleResult {
  nodes: IdleNode[]
  total_open: number
  /** The last `active_users` a fresh socket on the first node saw within 2.5 s (cluster-wide, itself included). */
  active_users_seen: number
}

async function gauge(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return Number(/^ovasabi_ws_connections (\d+)/m.exec(text)?.[1] ?? Number.NaN)
}

async function probe(port: number, path: string): Promise<number> {
  const tokens = createTokenService({ secret, ttlSeconds: 600 })
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}?token=${(await tokens.issueGuest()).token}`)
  let count = Number.NaN
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString())
    if (typeof f.active_users === 'number') count = f.active_users
  })
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  // Count-only changes go out at most once a second; the shared count refreshes asynchronously.
  await sleep(2500)
  ws.close()
  return count
}

/**
 * `total` sockets over `nodes` servers (Redis at `redisUrl` when more than one), each node's
 * share opened by `procsPerNode` client processes from their own 127.0.0.x addresses.
 */
export async function idle(total: number, nodes: number, procsPerNode: number, redisUrl: string) {
  const slug = nodes > 1 ? `bench-idle-${randomBytes(3).toString('hex')}` : 'bench'
  const path = `/ws/${slug}/guest`
  const env: Record<string, string> = { WS_HEARTBEAT_MS: '600000', BENCH_CAMPAIGN: slug }
  if (nodes > 1) env.REDIS_URL = redisUrl
  const servers = await Promise.all(
    Array.from({ length: nodes }, () => startServer('server-ovasabi.ts', env, ['--expose-gc'])),
  )
  /** RSS after a full collection: start-up garbage would otherwise hide (or fake) the sockets' cost. */
  const settledRss = async () => {
    for (const s of servers) s.child.kill('SIGUSR2')
    await sleep(2000)
    return servers.map((s) => usage(s.child.pid!).rssMb)
  }
  const clients: ChildProcess[] = []
  try {
    await sleep(3000)
    const before = await settledRss()
    const perNode = Math.ceil(total / nodes)
    const opened: Array<Promise<{ open: number; failed: number }>> = []
    let addr = 2
    for (let i = 0; i < nodes; i++) {
      const share = Math.min(perNode, total - i * perNode)
      const per = Math.ceil(share / procsPerNode)
      for (let p = 0; p < procsPerNode; p++) {
        const count = Math.min(per, share - p * per)
        const c = start(
          'idle-clients.ts',
          {
            BENCH_PORT: String(servers[i]!.port),
            BENCH_PATH: path,
            BENCH_IDLE: String(count),
            BENCH_ADDR_FIRST: String(addr),
            BENCH_ADDRS: '4',
          },
          true,
        )
        addr += 4
        clients.push(c)
        opened.push(message(c, (m) => 'open' in (m as object)))
      }
    }
    const results = await Promise.all(opened)
    await sleep(3000)
    const afterRss = await settledRss()
    const out: IdleNode[] = []
    for (let i = 0; i < nodes; i++) {
      const mine = results.slice(i * procsPerNode, (i + 1) * procsPerNode)
      const open = mine.reduce((a, r) => a + r.open, 0)
      const after = afterRss[i]!
      out.push({
        port: servers[i]!.port,
        open,
        failed: mine.reduce((a, r) => a + r.failed, 0),
        rss_before_mb: before[i]!,
        rss_after_mb: after,
        kb_per_conn: Number((((after - before[i]!) * 1024) / open).toFixed(1)),
        gauge: await gauge(servers[i]!.port),
      })
    }
    return {
      nodes: out,
      total_open: out.reduce((a, n) => a + n.open, 0),
      active_users_seen: await probe(servers[0]!.port, path),
    } satisfies IdleResult
  } finally {
    for (const c of clients) c.kill('SIGKILL')
    // SIGTERM: each node closes its sockets and removes itself from Redis presence.
    await Promise.all(
      servers.map(async ({ child }) => {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        if ((await Promise.race([exited, sleep(15_000).then(() => 'timeout')])) === 'timeout')
          child.kill('SIGKILL')
      }),
    )
  }
}
