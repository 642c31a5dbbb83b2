// `npm run bench:ws`: for each N, the same workload against Ovasabi, a bare `ws` server doing the
// same batching, and Socket.IO with per-cursor room emits; the load clients run in
// BENCH_CLIENT_PROCS separate processes whose counts and latency histograms are merged.
// BENCH_N=250,500 BENCH_SECONDS=10 BENCH_KINDS=ovasabi,raw,socketio npm run bench:ws
// BENCH_N= BENCH_IDLE=21000 BENCH_IDLE_NODES=2 npm run bench:ws   (idle sockets over two nodes)
import { loadavg } from 'node:os'
import { idle } from './idle.js'
import { type LoadRow, once } from './load.js'

const ns = (process.env.BENCH_N ?? '250,500,1000,2000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
const kinds = (process.env.BENCH_KINDS ?? 'ovasabi,raw,socketio').split(',')
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const procs = Number(process.env.BENCH_CLIENT_PROCS ?? 2)
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')

console.log(`load average before: ${load()}`)
const rows: Array<LoadRow | { kind: string; clients: number; error: string }> = []
for (const n of ns) {
  for (const kind of kinds) {
    const r = await once(kind, n, procs, seconds).catch((err) => ({ kind, clients: n, error: String(err) }))
    rows.push(r)
    console.log(JSON.stringify(r))
  }
}
if (rows.length > 0) {
  console.log(
    '\n| N | server | sends/s | frames/s | cursors/s | p50 ms | p99 ms | server CPU % | server RSS MB | clients CPU % |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    if ('error' in r) console.log(`| ${r.clients} | ${r.kind} | ${r.error} |`)
    else
      console.log(
        `| ${r.clients} | ${r.kind} | ${r.sent_per_s} (${r.clients * Number(process.env.BENCH_HZ ?? 10)}) | ${r.frames_per_s} | ${r.cursors_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.server_cpu_pct} | ${r.server_rss_mb} | ${r.clients_cpu_pct} |`,
      )
  }
}

// Idle connections: RSS per authenticated idle socket, over BENCH_IDLE_NODES nodes sharing Redis.
if (process.env.BENCH_IDLE) {
  const total = Number(process.env.BENCH_IDLE)
  const nodes = Number(process.env.BENCH_IDLE_NODES ?? (total > 19_000 ? 2 : 1))
  const r = await idle(
    total,
    nodes,
    Number(process.env.BENCH_IDLE_PROCS ?? 2),
    process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  )
  console.log(
    `\nIdle: ${r.total_open} sockets over ${nodes} node(s); active_users seen: ${r.active_users_seen}`,
  )
  for (const node of r.nodes) {
    console.log(
      `  node :${node.port}: ${node.open} open (${node.failed} failed), gauge ${node.gauge}, RSS ${node.rss_before_mb} -> ${node.rss_after_mb} MB, ${node.kb_per_conn} KB per connection`,
    )
  }
}
console.log(`load average after: ${load()}`)
