// A server restart closes every socket of the node at once (1012 SERVER_RESTART; 1001 going away):
// the clients' first retries are spread over a window instead of all coming within the same few
// hundred milliseconds. The delays are those the connections schedule (`onState`'s `retryInMs`),
// drawn from an injected random source: nothing here depends on how fast the machine is.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { WebSocketServer } from 'ws'
import { buildTestApp, createCampaign } from '../test/helper.js'
import {
  connectRealtime,
  createClient,
  type RealtimeConnection,
  type RealtimeOptions,
  restartDelay,
  type StateChange,
} from './index.js'
import { recordingSockets, until } from './test-helpers.js'

/** The `change` of each connection's first turn to `reconnecting`, by index. */
function firstReconnects(conns: RealtimeConnection[]): Array<StateChange | undefined> {
  const seen: Array<StateChange | undefined> = conns.map(() => undefined)
  conns.forEach((c, i) => {
    c.onState((s, change) => {
      if (s === 'reconnecting') seen[i] ??= change
    })
  })
  return seen
}

/** Random draws spread evenly over [0, 1), one source per connection. */
const evenly = (n: number) => Array.from({ length: n }, (_, i) => () => (i + 0.5) / n)

describe('SDK: the first retry after a server restart is spread', () => {
  const conns: RealtimeConnection[] = []
  after(() => {
    for (const c of conns) c.close()
  })

  test('the real server shutting down (1012): retries spread over the 5 s window, not 250–500 ms', async () => {
    const ctx = await buildTestApp()
    const baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    const slug = await createCampaign(ctx.app)
    const client = createClient({ baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const n = 10
    const mine = evenly(n).map((random) => client.connect(slug, { frequency: 1, random }))
    conns.push(...mine)
    const changes = firstReconnects(mine)
    await until(() => mine.every((c) => c.state === 'open'), 'all open')
    await ctx.close()
    await until(() => changes.every((c) => c !== undefined), 'all reconnecting')
    for (const c of mine) c.close()
    assert.deepEqual(new Set(changes.map((c) => `${c!.code} ${c!.reason}`)), new Set(['1012 SERVER_RESTART']))
    const delays = changes.map((c) => c!.retryInMs!)
    // Each where its draw puts it in the window: 250 ms, 750 ms, … 4 750 ms.
    assert.deepEqual(
      delays,
      evenly(n).map((r) => Math.round(r() * 5000)),
    )
    // Spread across most of the window, yet half of it on average: prompt.
    assert.ok(Math.max(...delays) - Math.min(...delays) >= 4000, `spread: ${delays}`)
    assert.equal(delays.reduce((a, b) => a + b, 0) / n, 2500)
  })

  test('1001 going away is spread the same; a plain drop keeps the usual prompt backoff; the cap holds', async () => {
    // A WebSocket server of the test's own on a real port: `connected`, then the close it is told.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((r) => wss.once('listening', () => r()))
    const closeWith = new Map<string, number>()
    wss.on('connection', (socket, req) => {
      const campaign = decodeURIComponent(new URL(req.url!, 'http://x').pathname.split('/')[2]!)
      socket.send(
        JSON.stringify({ type: 'connected', session_id: 's', campaign, active_users: 1, server_time: '' }),
      )
      const code = closeWith.get(campaign)!
      if (code === 1006) socket.terminate()
      else socket.close(code, code === 1001 ? 'GOING_AWAY' : '')
    })
    try {
      const { port } = wss.address() as { port: number }
      const open = (campaign: string, code: number, extra: Partial<RealtimeOptions> = {}) => {
        closeWith.set(campaign, code)
        const conn = connectRealtime({
          baseUrl: `http://127.0.0.1:${port}`,
          campaign,
          token: 't',
          frequency: 1,
          WebSocket: recordingSockets().WebSocket,
          random: () => 0.9,
          ...extra,
        })
        conns.push(conn)
        return conn
      }
      const goingAway = open('going-away', 1001)
      const dropped = open('dropped', 1006)
      const capped = open('capped', 1012, { backoff: { maxMs: 1000 } })
      const narrow = open('narrow', 1012, { backoff: { restartWindowMs: 2000 } })
      const all = [goingAway, dropped, capped, narrow]
      const changes = firstReconnects(all)
      await until(() => changes.every((c) => c !== undefined), 'all reconnecting')
      for (const c of all) c.close()
      assert.deepEqual(
        changes.map((c) => [c!.code, c!.retryInMs]),
        [
          [1001, 4500], // 0.9 of the 5 s window
          [1006, 475], // the usual first backoff: [250, 500]
          [1012, 900], // the window is at most maxMs
          [1012, 1800], // restartWindowMs
        ],
      )
    } finally {
      await new Promise<void>((r) => wss.close(() => r()))
    }
  })

  test('restartDelay: full jitter over the window, its mean half the window', () => {
    assert.equal(
      restartDelay({}, () => 0),
      0,
    )
    assert.equal(
      restartDelay({}, () => 1),
      5000,
    )
    assert.equal(
      restartDelay({ restartWindowMs: 60_000, maxMs: 10_000 }, () => 1),
      10_000,
    )
    const draws = Array.from({ length: 2000 }, () => restartDelay())
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length
    assert.ok(mean > 2000 && mean < 3000, `mean ${mean}`)
    // A draw rounds to the window's end (5000) about once in 10,000: it belongs to the last tenth.
    const tenths = new Set(draws.map((d) => Math.min(9, Math.floor(d / 500))))
    assert.ok(tenths.size === 10, 'every tenth of the window is hit')
    assert.ok(
      draws.every((d) => d >= 0 && d <= 5000),
      'within the window',
    )
  })
})
