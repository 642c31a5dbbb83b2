import autocannon, { type RawRequest, type Result } from 'autocannon'
import { type ProcessStats, sampleCommandCpu, sampleProcess, sampleSelfCpu } from './proc.js'

/** Seconds of measured load per scenario: `BENCH_DURATION` (default 10). */
export const DEFAULT_DURATION = Number(process.env.BENCH_DURATION ?? 10)
/** Seconds of unmeasured load before it: `BENCH_WARMUP` (default 3). */
export const DEFAULT_WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
export const DEFAULT_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

export interface LoadOptions {
  /** Row label in the results table. */
  name: string
  /** Base URL of the server, e.g. `http://127.0.0.1:40123`. */
  url: string
  path: string
  method?: string
  /** Headers sent with every request (`content-type: application/json` is added when there is a body). */
  headers?: Record<string, string>
  /** A fixed body for every request. */
  body?: string
  /**
   * Builds request `seq` (0, 1, 2… across all connections): return a body and/or extra headers.
   * Use it for unique ids (idempotency keys) or to spread requests over several tokens.
   */
  request?: (seq: number) => { body?: string; headers?: Record<string, string>; path?: string }
  connections?: number
  durationSec?: number
  /** Unmeasured load first (JIT, pools, caches). 0 skips it. */
  warmupSec?: number
  /** Sample this process's CPU and RSS during the measured window (Linux `/proc`). */
  pid?: number
  /** Also measure the CPU of every process with this command name, e.g. `postgres`. */
  sampleCommands?: string[]
}

export interface LoadResult {
  name: string
  /** Mean responses per second over the measured window (every status counts; see non2xx). */
  rps: number
  /** Latency percentiles and mean, in milliseconds. */
  p50: number
  p99: number
  mean: number
  max: number
  /** Responses received in the measured window, and how many were not 2xx. */
  total: number
  ok: number
  non2xx: number
  /** Connection errors and timeouts. */
  errors: number
  timeouts: number
  durationSec: number
  /** Responses (2xx) of the warm-up and measured runs together, e.g. to check rows written. */
  okIncludingWarmup: number
  statusCodes: Record<string, number>
  /** The server process during the measured window, when `pid` was given. */
  process?: ProcessStats
  /** CPU (percent of one core) of the load generator (this process) in the measured window. */
  loadGeneratorCpu: number
  /** CPU (percent of one core) of each command in `sampleCommands`. */
  commandCpu: Record<string, number>
}

function cannon(options: LoadOptions, durationSec: number, counter: { seq: number }): Promise<Result> {
  const baseHeaders: Record<string, string> = { ...options.headers }
  if ((options.body !== undefined || options.request) && !hasHeader(baseHeaders, 'content-type')) {
    baseHeaders['content-type'] = 'application/json'
  }
  const build = options.request
  const instance = autocannon({
    url: options.url,
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    duration: durationSec,
    timeout: 10,
    requests: [
      {
        method: options.method ?? (options.body !== undefined || build ? 'POST' : 'GET'),
        path: options.path,
        headers: baseHeaders,
        ...(options.body !== undefined ? { body: options.body } : {}),
        ...(build
          ? {
              setupRequest: (req: RawRequest) => {
                const extra = build(counter.seq++)
                return {
                  ...req,
                  ...(extra.path ? { path: extra.path } : {}),
                  ...(extra.body !== undefined ? { body: extra.body } : {}),
                  headers: { ...baseHeaders, ...extra.headers },
                }
              },
            }
          : {}),
      },
    ],
  })
  return Promise.resolve(instance)
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name)
}

/**
 * Run autocannon against one endpoint: an optional warm-up, then the measured window, sampling
 * the server process meanwhile. `request(seq)` numbers never repeat across warm-up and run.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const counter = { seq: 0 }
  const warmupSec = options.warmupSec ?? DEFAULT_WARMUP
  let warmupOk = 0
  if (warmupSec > 0) warmupOk = (await cannon(options, warmupSec, counter))['2xx']
  const sampler = options.pid ? sampleProcess(options.pid) : undefined
  const self = sampleSelfCpu()
  const commands = (options.sampleCommands ?? []).map((comm) => [comm, sampleCommandCpu(comm)] as const)
  const result = await cannon(options, options.durationSec ?? DEFAULT_DURATION, counter)
  const stats = sampler?.stop()
  const loadGeneratorCpu = self.stop()
  const commandCpu = Object.fromEntries(commands.map(([comm, s]) => [comm, s.stop()]))
  const statusCodes: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = Number(count)
  }
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  return {
    name: options.name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    max: result.latency.max,
    total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
    okIncludingWarmup: warmupOk + result['2xx'],
    statusCodes,
    loadGeneratorCpu,
    commandCpu,
    ...(stats ? { process: stats } : {}),
  }
}
