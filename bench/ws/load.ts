// One measured run: a server, N clients split over BENCH_CLIENT_PROCS processes, merged figures.
import type { ChildProcess } from 'node:child_process'
import { message, sleep, start, startServer, usage } from './spawn.js'

interface ClientReport {
  sent: number
  frames: number
  cursors: number
  histogram: Array<[number, number]>
}

export interface LoadRow {
  kind: string
  clients: number
  procs: number
  seconds: number
  sent_per_s: number
  frames_per_s: number
  cursors_per_s: number
  p50_ms: number
  p99_ms: number
  server_cpu_pct: number
  server_rss_mb: number
  /** All client processes together, percent of one core. */
  clients_cpu_pct: number
}

/** Percentile over a merged 1 ms histogram. */
export function percentile(hist: Uint32Array, p: number): number {
  let total = 0
  for (const c of hist) total += c
  let acc = 0
  for (let ms = 0; ms < hist.length; ms++) {
    acc += hist[ms]!
    if (acc >= total * p) return ms
  }
  return Number.NaN
}

export async function once(kind: string, n: number, procs: number, seconds: number): Promise<LoadRow> {
  const { child: server, port } = await startServer(`server-${kind}.ts`)
  const clients: ChildProcess[] = []
  try {
    const counts = Array.from({ length: procs }, (_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0))
    let first = 0
    for (const count of counts) {
      clients.push(
        start(
          'clients.ts',
          {
            BENCH_KIND: kind,
            BENCH_PORT: String(port),
            BENCH_CLIENTS: String(count),
            BENCH_CLIENT_FIRST: String(first),
          },
          true,
        ),
      )
      first += count
    }
    await Promise.all(clients.map((c) => message(c, (m) => (m as { ready?: boolean }).ready === true)))
    // Same wall-clock window for every process: 2 s warm-up, then `seconds` measured.
    const measureAt = Date.now() + 2000
    const endAt = measureAt + seconds * 1000
    const reports = clients.map((c) => message<ClientReport>(c, (m) => 'histogram' in (m as object)))
    for (const c of clients) c.send({ measureAt, endAt })
    await sleep(measureAt - Date.now())
    const before = usage(server.pid!)
    const clientsBefore = clients.map((c) => usage(c.pid!).cpu)
    await sleep(endAt - Date.now())
    const after = usage(server.pid!)
    const clientsAfter = clients.map((c) => usage(c.pid!).cpu)
    const wall = (Date.now() - measureAt) / 1000
    const all = await Promise.all(reports)
    const hist = new Uint32Array(10_000)
    for (const r of all) for (const [ms, count] of r.histogram) hist[ms]! += count
    const sum = (f: (r: ClientReport) => number) => all.reduce((a, r) => a + f(r), 0)
    const clientCpu = clientsAfter.reduce((a, c, i) => a + c - clientsBefore[i]!, 0)
    return {
      kind,
      clients: n,
      procs,
      seconds,
      sent_per_s: Math.round(sum((r) => r.sent) / seconds),
      frames_per_s: Math.round(sum((r) => r.frames) / seconds),
      cursors_per_s: Math.round(sum((r) => r.cursors) / seconds),
      p50_ms: percentile(hist, 0.5),
      p99_ms: percentile(hist, 0.99),
      server_cpu_pct: Math.round(((after.cpu - before.cpu) / wall) * 100),
      server_rss_mb: after.rssMb,
      clients_cpu_pct: Math.round((clientCpu / wall) * 100),
    }
  } finally {
    for (const c of clients) c.kill('SIGKILL')
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
  }
}
