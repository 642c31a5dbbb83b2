// Reconnecting as a demanding page needs it, on real sockets: a server that accepts the socket and
// then fails at once (the gateway writes `connected`, then closes 1011 INTERNAL when the replay's
// history read fails, say the database is down) must not be retried twice a second forever by
// every client; and a connection that ends by itself (`reconnect: false`) leaves no listener on
// the page. Delays are those the connection schedules (`onState`'s `retryInMs`, draws injected).
import assert from 'node:assert/strict'
import { after, afterEach, beforeEach, describe, test } from 'node:test'
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws'
import { createCampaign } from '../test/helper.js'
import { connectRealtime, createClient, type RealtimeConnection } from './index.js'
import { recordingSockets, sdkServer, until } from './test-helpers.js'

/** A `ws` server on a real port; `onSocket` gets each socket it accepts. */
async function flakyServer(onSocket: (ws: ServerSocket) => void) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((r) => wss.once('listening', () => r()))
  wss.on('connection', onSocket)
  const { port } = wss.address() as { port: number }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => {
      for (const c of wss.clients) c.terminate()
      return new Promise<void>((r) => wss.close(() => r()))
    },
  }
}

const connectedFrame = JSON.stringify({
  type: 'connected',
  session_id: 's1',
  user_id: 'guest',
  campaign: 'c',
  active_users: 1,
  server_time: new Date().toISOString(),
  last_event_id: 0,
})

describe('SDK: a server that accepts and then fails is backed off from', () => {
  const conns: RealtimeConnection[] = []
  after(() => {
    for (const c of conns) c.close()
  })

  test('each socket closed right after its `connected` counts as a failed attempt: the delay grows', async () => {
    const server = await flakyServer((ws) => {
      ws.send(connectedFrame)
      ws.close(1011, 'INTERNAL')
    })
    try {
      const retries: number[] = []
      const conn = connectRealtime({
        baseUrl: server.baseUrl,
        campaign: 'c',
        frequency: 1,
        WebSocket: recordingSockets().WebSocket,
        backoff: { initialMs: 20, maxMs: 10_000 },
        random: () => 1,
        heartbeat: false,
      })
      conns.push(conn)
      let opened = 0
      conn.onState((s, change) => {
        if (s === 'open') opened++
        if (s === 'reconnecting') retries.push(change.retryInMs!)
      })
      await until(() => retries.length >= 4, 'four retries')
      conn.close()
      assert.ok(opened >= 4, 'each socket got its `connected`')
      // Before: 20, 20, 20, 20 … (the count reset by every `connected`): a loop at the first delay.
      assert.deepEqual(retries.slice(0, 4), [20, 40, 80, 160])
    } finally {
      await server.close()
    }
  })

  test('a socket that stayed up past `backoff.stableMs` and then dropped is retried at the first delay again', async () => {
    const sockets: ServerSocket[] = []
    let flaky = true
    const server = await flakyServer((ws) => {
      sockets.push(ws)
      ws.send(connectedFrame)
      if (flaky) ws.close(1011, 'INTERNAL')
    })
    try {
      const retries: number[] = []
      const conn = connectRealtime({
        baseUrl: server.baseUrl,
        campaign: 'c',
        frequency: 1,
        WebSocket: recordingSockets().WebSocket,
        backoff: { initialMs: 20, maxMs: 10_000, stableMs: 50 },
        random: () => 1,
        heartbeat: false,
      })
      conns.push(conn)
      conn.onState((s, change) => {
        if (s === 'reconnecting') retries.push(change.retryInMs!)
        if (retries.length === 3) flaky = false
      })
      await until(() => !flaky && conn.state === 'open', 'open on a socket that stays')
      const last = sockets.at(-1)!
      // Well past stableMs: this one counts as having stayed up.
      await new Promise((r) => setTimeout(r, 300))
      last.close(1011, 'INTERNAL')
      await until(() => retries.length >= 4, 'the retry after the stable socket dropped')
      conn.close()
      assert.deepEqual(retries.slice(0, 3), [20, 40, 80])
      assert.equal(retries[3], 20)
    } finally {
      await server.close()
    }
  })
})

type PageEvents = {
  addEventListener?: EventTarget['addEventListener']
  removeEventListener?: EventTarget['removeEventListener']
}

describe('SDK: a connection that ends by itself lets go of the page (real server)', () => {
  const server = sdkServer()
  const page = globalThis as PageEvents
  /** `online` listeners added less those removed. */
  let listening = 0
  beforeEach(() => {
    const window = new EventTarget()
    listening = 0
    page.addEventListener = (type: string, listener: any) => {
      if (type === 'online') listening++
      window.addEventListener(type, listener)
    }
    page.removeEventListener = (type: string, listener: any) => {
      if (type === 'online') listening--
      window.removeEventListener(type, listener)
    }
  })
  afterEach(() => {
    delete page.addEventListener
    delete page.removeEventListener
  })

  test('reconnect: false, after a drop: closed, and its `online` listener removed', async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = recordingSockets()
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1, reconnect: false }))
    await until(() => conn.state === 'open', 'open')
    assert.equal(listening, 1)
    rec.sockets[0]!.terminate()
    await until(() => conn.state === 'closed', 'closed after the drop')
    // Before: the page kept the listener, and with it the connection and every handler it holds.
    assert.equal(listening, 0)
  })
})
