// Helpers the SDK's test files share. Imported only by `*.test.ts`: nothing the SDK (client/index.ts)
// or the site bundle (web/) imports reaches it, so it ships in neither.
import assert from 'node:assert/strict'
import { createServer as createTcpServer, type Socket, connect as tcpConnect } from 'node:net'
import { after, before } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, type Dialect, type TestContext } from '../test/helper.js'
import { OvasabiError, type RealtimeConnection, type RealtimeOptions, type WebSocketCtor } from './index.js'

/** A WebSocket class of its own: `sockets` holds every socket opened with it, in order. */
export function recordingSockets() {
  const sockets: WebSocket[] = []
  class Recorded extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      sockets.push(this)
    }
  }
  return { sockets, WebSocket: Recorded as unknown as WebSocketCtor }
}

/** Waits for `cond` (generous limit: a failure means it never happened, not that it was slow). */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The OvasabiError a call fails with; fails the test when the call succeeds. */
export async function failure(p: Promise<unknown>): Promise<OvasabiError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof OvasabiError, `expected OvasabiError, got ${String(err)}`)
    return err
  }
  return assert.fail('expected the call to fail')
}

/** What the connection hands `onError`, in order. */
export function errorsOf(conn: RealtimeConnection): OvasabiError[] {
  const seen: OvasabiError[] = []
  conn.onError((e) => seen.push(e))
  return seen
}

/**
 * A TCP relay in front of the server. While `dropUpgrades`, a connection whose request is a
 * WebSocket upgrade is cut before the server answers (the client sees 1006, as for a network drop)
 * and plain HTTP passes; `refuseAll` cuts every connection (the server unreachable).
 */
export async function upgradeDroppingRelay(target: string) {
  const { hostname, port } = new URL(target)
  const open = new Set<Socket>()
  const relay = { url: '', dropUpgrades: true, refuseAll: false, close: async () => {} }
  const server = createTcpServer((inbound) => {
    open.add(inbound)
    inbound.on('close', () => open.delete(inbound))
    inbound.on('error', () => inbound.destroy())
    if (relay.refuseAll) return void inbound.destroy()
    inbound.once('data', (first: Buffer) => {
      if (relay.dropUpgrades && /\r\nupgrade:\s*websocket/i.test(first.toString('latin1')))
        return void inbound.destroy()
      const outbound = tcpConnect(Number(port), hostname)
      open.add(outbound)
      outbound.on('close', () => {
        open.delete(outbound)
        inbound.destroy()
      })
      outbound.on('error', () => outbound.destroy())
      inbound.on('close', () => outbound.destroy())
      outbound.write(first)
      inbound.pipe(outbound).pipe(inbound)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  relay.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  relay.close = () => {
    for (const s of open) s.destroy()
    return new Promise<void>((r) => server.close(() => r()))
  }
  return relay
}

/**
 * A suite's server on a real port (on `dialect`, else the default), started before its tests and
 * closed after them with every connection it `keep`s: `server.ctx`, `server.baseUrl`.
 */
export function sdkServer(dialect?: Dialect) {
  let ctx: TestContext | undefined
  let baseUrl = ''
  const conns: RealtimeConnection[] = []
  before(async () => {
    ctx = await buildTestApp(dialect ? { dialect } : {})
    baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of conns) c.close()
    await ctx?.close()
  })
  return {
    get ctx() {
      return ctx!
    },
    get baseUrl() {
      return baseUrl
    },
    /** `c`, closed when the suite ends. */
    keep(c: RealtimeConnection) {
      conns.push(c)
      return c
    },
  }
}

/**
 * Connect options whose first retry comes at once and the next only minutes later, so only
 * something else (a new token, the page going online) opens the socket again. `draws()` counts
 * the backoffs drawn.
 */
export function retryOnceThenWait() {
  let draws = 0
  const opts = {
    frequency: 1,
    backoff: { initialMs: 40, factor: 10_000, maxMs: 600_000 },
    random: () => {
      draws++
      return 1
    },
  } satisfies Partial<RealtimeOptions>
  return { opts, draws: () => draws }
}
