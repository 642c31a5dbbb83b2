// Child processes of the WebSocket bench: servers announce `{"port":…}` on stdout, load clients
// talk over IPC; CPU and RSS are read from /proc.
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const here = import.meta.dirname
export const secret = 'bench-secret-bench-secret-bench-secret-0123'

/** The environment every child gets; REDIS_URL only where a caller passes it explicitly. */
function baseEnv(): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...rest } = process.env
  return {
    ...rest,
    BENCH_JWT_SECRET: secret,
    JWT_SECRET: secret,
    BENCH_HZ: process.env.BENCH_HZ ?? '10',
  }
}

export function start(
  script: string,
  extra: Record<string, string> = {},
  ipc = false,
  nodeArgs: string[] = [],
): ChildProcess {
  const args = [...nodeArgs, ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]
  return spawn(process.execPath, [...(ipc ? [] : args), '--import', 'tsx', join(here, script)], {
    env: { ...baseEnv(), ...extra },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  })
}

/** Start a server script and wait for the port it prints. */
export async function startServer(
  script: string,
  extra: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const child = start(script, extra, false, nodeArgs)
  const port = await new Promise<number>((resolve, reject) => {
    // BENCH_SERVER_LOG: keep the server's stdout (e.g. V8 traces from BENCH_NODE_ARGS) in a file.
    const log = process.env.BENCH_SERVER_LOG
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (log) appendFileSync(log, `${l}\n`)
      if (l.startsWith('{"port"')) resolve(JSON.parse(l).port)
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
  return { child, port }
}

/** CPU seconds (user + system) and RSS in MB of a process, from /proc. */
export function usage(pid: number): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return { cpu, rssMb: Math.round(Number(rss?.[1] ?? 0) / 1024) }
}

/** The first IPC message of a child that satisfies `test`. */
export function message<T>(child: ChildProcess, test: (m: unknown) => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!test(m)) return
      child.off('message', onMessage)
      resolve(m as T)
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)))
  })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
