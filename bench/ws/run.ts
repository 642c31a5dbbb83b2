// `npm run bench:ws`: for each N, the same workload against Ovasabi, a bare `ws` server doing the
// same batching, and Socket.IO with per-cursor room emits; clients run in a separate process.
// BENCH_N=250,500 BENCH_SECONDS=10 BENCH_KINDS=ovasabi,raw,socketio npm run bench:ws
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const here = import.meta.dirname
const ns = (process.env.BENCH_N ?? '250,500,1000,2000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
const kinds = (process.env.BENCH_KINDS ?? 'ovasabi,raw,socketio').split(',')
const seconds = process.env.BENCH_SECONDS ?? '10'
const secret = 'bench-secret-bench-secret-bench-secret-0123'
const env = {
  ...process.env,
  BENCH_JWT_SECRET: secret,
  JWT_SECRET: secret,
  BENCH_HZ: process.env.BENCH_HZ ?? '10',
}

function start(script: string, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(here, script)], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

function lines(child: ChildProcess, onLine: (line: string) => void) {
  createInterface({ input: child.stdout! }).on('line', onLine)
}

/** CPU seconds (user + system) and RSS in MB of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return { cpu, rssMb: Math.round(Number(rss?.[1] ?? 0) / 1024) }
}

async function once(kind: string, n: number) {
  const server = start(`server-${kind}.ts`)
  const port = await new Promise<number>((resolve) =>
    lines(server, (l) => l.startsWith('{') && resolve(JSON.parse(l).port)),
  )
  const clients = start('clients.ts', {
    BENCH_KIND: kind,
    BENCH_PORT: String(port),
    BENCH_CLIENTS: String(n),
    BENCH_SECONDS: seconds,
  })
  let before = { cpu: 0, rssMb: 0 }
  let startedAt = 0
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    lines(clients, (l) => {
      if (l === 'START') {
        before = usage(server.pid!)
        startedAt = Date.now()
      } else if (l.startsWith('END ')) {
        const afterUsage = usage(server.pid!)
        const wall = (Date.now() - startedAt) / 1000
        resolve({
          ...JSON.parse(l.slice(4)),
          server_cpu_pct: Math.round(((afterUsage.cpu - before.cpu) / wall) * 100),
          server_rss_mb: afterUsage.rssMb,
        })
      }
    })
    clients.once('exit', (code) => code !== 0 && reject(new Error(`clients exited with ${code}`)))
  })
  server.kill('SIGKILL')
  clients.kill('SIGKILL')
  return result
}

const rows: Array<Record<string, unknown>> = []
for (const n of ns) {
  for (const kind of kinds) {
    const r = await once(kind, n).catch((err) => ({ kind, clients: n, error: String(err) }))
    rows.push(r)
    console.log(JSON.stringify(r))
  }
}
console.log('\n| N | server | frames/s | cursors/s | p50 ms | p99 ms | server CPU % | server RSS MB |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(
    `| ${r.clients} | ${r.kind} | ${r.frames_per_s ?? '-'} | ${r.cursors_per_s ?? '-'} | ${r.p50_ms ?? '-'} | ${r.p99_ms ?? '-'} | ${r.server_cpu_pct ?? '-'} | ${r.server_rss_mb ?? r.error} |`,
  )
}

// Idle connections: RSS per authenticated, idle socket (BENCH_IDLE=19000; the fd limit caps it).
if (process.env.BENCH_IDLE) {
  const server = start('server-ovasabi.ts', { WS_HEARTBEAT_MS: '600000' })
  const port = await new Promise<number>((resolve) =>
    lines(server, (l) => l.startsWith('{') && resolve(JSON.parse(l).port)),
  )
  await new Promise((r) => setTimeout(r, 3000))
  const base = usage(server.pid!).rssMb
  const clients = start('idle-clients.ts', { BENCH_PORT: String(port) })
  const opened = await new Promise<{ open: number }>((resolve) =>
    lines(clients, (l) => l.startsWith('OPEN ') && resolve(JSON.parse(l.slice(5)))),
  )
  await new Promise((r) => setTimeout(r, 5000))
  const after = usage(server.pid!).rssMb
  const perConnKb = ((after - base) * 1024) / opened.open
  console.log(
    `\nIdle: ${opened.open} sockets, server RSS ${base} MB -> ${after} MB, ${perConnKb.toFixed(1)} KB per connection`,
  )
  server.kill('SIGKILL')
  clients.kill('SIGKILL')
}
