// What a page's network does to the real-time connection, against the real server on a real port:
// the browser's `online` event (a network back, or another one taking over) and a token function
// that throws. Node has no `online` event: the test gives `globalThis` the page's EventTarget
// methods, as a browser window has them, and fires the event itself.
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { createCampaign } from '../test/helper.js'
import { createClient } from './index.js'
import {
  errorsOf,
  recordingSockets,
  retryOnceThenWait,
  sdkServer,
  until,
  upgradeDroppingRelay,
} from './test-helpers.js'

type PageEvents = {
  addEventListener?: EventTarget['addEventListener']
  removeEventListener?: EventTarget['removeEventListener']
}

describe('SDK: the page going online, and a token function that throws (real server)', () => {
  const server = sdkServer()
  const page = globalThis as PageEvents
  let window: EventTarget
  /** `online` listeners added less those removed. */
  let listening = 0
  beforeEach(() => {
    window = new EventTarget()
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

  test('online while backing off for minutes: it tries at once', async () => {
    const slug = await createCampaign(server.ctx.app)
    const relay = await upgradeDroppingRelay(server.baseUrl)
    relay.refuseAll = true
    try {
      const rec = recordingSockets()
      const client = createClient({ baseUrl: relay.url, WebSocket: rec.WebSocket })
      client.setToken((await server.ctx.app.platform.tokens.issueGuest()).token)
      const retry = retryOnceThenWait()
      const conn = server.keep(client.connect(slug, { ...retry.opts, userId: 'guest' }))
      // The first attempt and its retry failed: the next is 400 s away.
      await until(() => retry.draws() >= 2 && rec.sockets.length === 2, 'two attempts, backing off')
      assert.equal(conn.state, 'reconnecting')
      relay.refuseAll = false
      relay.dropUpgrades = false
      window.dispatchEvent(new Event('online'))
      await until(() => conn.state === 'open', 'open after online')
      assert.equal(rec.sockets.length, 3)
      assert.equal(listening, 1)
      conn.close()
      assert.equal(listening, 0, 'close() removes its listener')
    } finally {
      await relay.close()
    }
  })

  test('online while open: the socket is pinged at once, and kept when it answers', async () => {
    const slug = await createCampaign(server.ctx.app)
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    // The idle ping would come only after a minute.
    const conn = server.keep(
      client.connect(slug, { frequency: 1, heartbeat: { idleMs: 60_000, timeoutMs: 10_000 } }),
    )
    let pongs = 0
    conn.on('pong', () => pongs++)
    await until(() => conn.state === 'open', 'open')
    window.dispatchEvent(new Event('online'))
    await until(() => pongs === 1, 'a pong')
    assert.equal(conn.state, 'open')
    conn.close()
    assert.equal(listening, 0)
  })

  test('a token function that throws is said to onError (TOKEN_UNAVAILABLE), retried, and not the end', async () => {
    const slug = await createCampaign(server.ctx.app)
    const good = (await server.ctx.app.platform.tokens.issueGuest()).token
    let asked = 0
    const conn = server.keep(
      createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket }).connect(slug, {
        frequency: 1,
        userId: 'guest',
        backoff: { initialMs: 5, maxMs: 20 },
        token: async () => {
          if (++asked <= 2) throw new Error('refresh failed: offline')
          return good
        },
      }),
    )
    const seen = errorsOf(conn)
    await until(() => conn.state === 'open', 'open with the token, once it came')
    assert.deepEqual(
      seen.map((e) => [e.code, e.status, (e.cause as Error).message]),
      [
        ['TOKEN_UNAVAILABLE', 0, 'refresh failed: offline'],
        ['TOKEN_UNAVAILABLE', 0, 'refresh failed: offline'],
      ],
    )
    assert.equal(conn.error, undefined)
  })
})
