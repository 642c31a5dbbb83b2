import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a tiny race until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

export interface SpawnOptions {
  /** Shown in errors and logs. */
  name: string
  /** Arguments to `node` (the current binary), e.g. `['bin/ovasabi.js', 'serve']`. */
  args: string[]
  /** Extra environment; `PORT` is set to the chosen port unless given here. */
  env?: Record<string, string | undefined>
  cwd?: string
  /** Polled until it answers 2xx. Default `/health`. */
  healthPath?: string
  /** Give up waiting for health after this long. Default 60 s. */
  timeoutMs?: number
  /** A fixed port instead of a free one. */
  port?: number
}

export interface SpawnedServer {
  name: string
  url: string
  port: number
  /** The server process itself (what `/proc/<pid>` sampling reads). */
  pid: number
  /** Last lines the process printed, for diagnosing a failed start or run. */
  output(): string
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Start a Node server as a separate process on a free port and wait until its health path
 * answers. The process inherits this process's environment plus `env`; its output is kept (not
 * printed) and shown when the start fails.
 */
export async function spawnServer(options: SpawnOptions): Promise<SpawnedServer> {
  const port = options.port ?? (await freePort())
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, PORT: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    if (lines.length > 200) lines.splice(0, lines.length - 200)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let hasExited = false
  void exited.then(() => {
    hasExited = true
  })

  const url = `http://127.0.0.1:${port}`
  const server: SpawnedServer = {
    name: options.name,
    url,
    port,
    pid: child.pid!,
    output: () => lines.join('\n'),
    stop: (graceMs = 10_000) => stopProcess(child, exited, () => hasExited, graceMs),
  }

  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  const healthUrl = url + (options.healthPath ?? '/health')
  while (true) {
    if (hasExited) {
      throw new Error(`${options.name} exited before it was healthy:\n${server.output()}`)
    }
    try {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.ok) return server
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop(2000)
      throw new Error(`${options.name} was not healthy at ${healthUrl} in time:\n${server.output()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function stopProcess(
  child: ChildProcess,
  exited: Promise<unknown>,
  hasExited: () => boolean,
  graceMs: number,
): Promise<void> {
  if (hasExited()) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => {
    if (!hasExited()) child.kill('SIGKILL')
  }, graceMs)
  await exited
  clearTimeout(timer)
}
