import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import { WebSocket } from 'ws'
import type { V1Principal } from '../../src/modules/stream/account.service.js'
import { streamsChannel } from '../../src/modules/stream/cable/channels.js'
import { type CableServerDeps, createCableServer } from '../../src/modules/stream/cable/server.js'
import { unauthorized } from '../../src/modules/stream/v1.errors.js'
import type { EventBus } from '../../src/platform/bus/bus.js'
import { createMemoryBus } from '../../src/platform/bus/memory.js'

export const silent = { warn() {}, info() {}, error() {}, debug() {} } as unknown as FastifyBaseLogger

/**
 * Credentials (`token-<account id>`) the test turns bad (401), broken (a database that cannot
 * answer) or held (the check waits until the test lets it answer) as it goes.
 */
export function fakeAccounts() {
  const refused = new Set<string>()
  const broken = new Set<string>()
  const held = new Map<string, Promise<void>>()
  const checks = new Map<string, number>()
  return {
    refused,
    broken,
    checks: (token: string) => checks.get(token) ?? 0,
    /** Checks of `token` wait until the returned function is called. */
    hold(token: string): () => void {
      let release!: () => void
      held.set(token, new Promise<void>((r) => (release = r)))
      return () => {
        held.delete(token)
        release()
      }
    },
    async authenticate(credential: string): Promise<V1Principal> {
      checks.set(credential, (checks.get(credential) ?? 0) + 1)
      await held.get(credential)
      if (refused.has(credential)) throw unauthorized()
      if (broken.has(credential)) throw new Error('connection terminated')
      const id = Number(credential.split('-')[1])
      return { kind: 'account', account_id: id, role: 'default', service: false, token_id: credential }
    },
  }
}

/** A memory bus whose `unsubscribe`s wait while `gate` is shut: a `close()` the test keeps in progress. */
export function gatedBus(): EventBus & { shut(): () => void } {
  const bus = createMemoryBus()
  let gate: Promise<void> | undefined
  return {
    kind: bus.kind,
    publish: (channel, message) => bus.publish(channel, message),
    async subscribe(channel, handler) {
      const off = await bus.subscribe(channel, handler)
      return async () => {
        await gate
        await off()
      }
    },
    close: () => bus.close(),
    shut() {
      let open!: () => void
      gate = new Promise<void>((r) => (open = r))
      return () => {
        gate = undefined
        open()
      }
    },
  }
}

/** A `/cable` server on its own HTTP server (real port), with the deps the test chooses. */
export async function cableOn(options: Partial<Omit<CableServerDeps, 'accounts' | 'bus' | 'log'>> = {}) {
  const accounts = fakeAccounts()
  const bus = gatedBus()
  const cable = createCableServer({
    accounts,
    bus,
    channels: { StreamsChannel: streamsChannel() },
    isMaintenance: () => false,
    log: silent,
    ...options,
  })
  const server: Server = createServer()
  cable.attach(server)
  await cable.start()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  let closed: Promise<void> | undefined
  const closeCable = () => {
    closed ??= cable.close()
    return closed
  }
  return {
    accounts,
    bus,
    cable,
    base,
    ws: base.replace(/^http/, 'ws'),
    /** Closes the `/cable` server (once), the HTTP server staying up. */
    closeCable,
    async close() {
      await closeCable()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/** How an upgrade was answered: an open socket and its first frame, or a refusal as sent. */
export type UpgradeAnswer =
  | { status: 101; ws: WebSocket; first: any }
  | { status: number; headers: IncomingHttpHeaders; body: string; ws?: undefined; first?: undefined }

/** A `/cable` upgrade with the ActionCable subprotocol, answered either way. */
export function upgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['actioncable-v1-json'], { headers })
    ws.once('message', (d) => resolve({ status: 101, ws, first: JSON.parse(d.toString()) }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    ws.once('error', reject)
  })
}

/**
 * A `/cable` socket on `base` (`http://…` or `ws://…`) that only listens: no commands, so only the
 * server's credential re-checks can close it.
 */
export async function listeningSocket(
  base: string,
  token: string,
): Promise<{ ws: WebSocket; closed: () => boolean }> {
  const answer = await upgrade(`${base.replace(/^http/, 'ws')}/cable?token=${token}`)
  assert.equal(answer.first?.type, 'welcome')
  const ws = answer.ws!
  let closed = false
  ws.on('close', () => {
    closed = true
  })
  return { ws, closed: () => closed }
}
