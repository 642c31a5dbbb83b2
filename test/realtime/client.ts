import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import WebSocket from 'ws'

/** A real `ws` client that records every frame and waits for conditions (never for fixed times). */
export class TestClient {
  readonly frames: any[] = []
  closed: { code: number; reason: string } | undefined
  private waiters: Array<() => void> = []

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()))
      this.notify()
    })
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.notify()
    })
    ws.on('error', () => {})
  }

  private notify() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Resolves with the first frame (from `from` on) matching, or rejects after `timeoutMs`. */
  async next(pred: (f: any) => boolean, timeoutMs = 10_000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.slice(from).find(pred)
      if (found) return found
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out; last frames: ${JSON.stringify(this.frames.slice(-3))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  async untilClosed(timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close')
      await new Promise((r) => setTimeout(r, 50))
    }
    return this.closed
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  close() {
    this.ws.terminate()
  }
}

export function baseUrl(app: FastifyInstance): string {
  const addr = app.server.address()
  if (!addr || typeof addr === 'string') throw new Error('not listening')
  return `ws://127.0.0.1:${addr.port}`
}

/** Connect and wait for `connected`; rejects with the HTTP status when the upgrade is refused. */
export function connect(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers })
    const client = new TestClient(ws)
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })),
      )
    })
    ws.once('error', reject)
    client.next((f) => f.type === 'connected').then(() => resolve(client), reject)
  })
}

export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
) {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The value of a counter/gauge sample in Prometheus exposition text (0 when it is not there). */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line ? Number(line.split(' ').pop()) : 0
}

/** The value of a counter/gauge sample in /metrics text. */
export async function metric(app: FastifyInstance, name: string, labels = ''): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  return sample(res.body, name, labels)
}

/** The same, from a registry of its own (a server the test built without the app). */
export async function registryMetric(registry: Registry, name: string, labels = ''): Promise<number> {
  return sample(await registry.metrics(), name, labels)
}
