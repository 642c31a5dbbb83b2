// A browser sees a refused upgrade only as close code 1006, as it sees a network drop. The SDK asks
// the same URL over HTTP why (the server answers the upgrade's refusal), against the real server on
// a real port: a refusal no retry cures closes the connection with the server's error, a 429 waits
// its Retry-After, anything else (426 after a drop, no answer) keeps reconnecting with backoff.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import {
  createClient,
  type FetchLike,
  type OvasabiClient,
  type OvasabiError,
  type RealtimeConnection,
  type RealtimeOptions,
  type WebSocketCtor,
} from './index.js'
import { errorsOf, recordingSockets, until, upgradeDroppingRelay } from './test-helpers.js'

/** A `fetch` recording each request's URL, `Authorization` and answer status (0: none). */
function recordingFetch() {
  const calls: Array<{ url: string; authorization?: string; status: number }> = []
  const fetch: FetchLike = async (input, init) => {
    const call = {
      url: input,
      authorization: (init?.headers as Record<string, string> | undefined)?.authorization,
      status: 0,
    }
    calls.push(call)
    const res = await globalThis.fetch(input, init)
    call.status = res.status
    return res
  }
  return { calls, fetch }
}

/** The error a promise rejected with (fails the test when it resolved). */
async function rejection(p: Promise<unknown>): Promise<OvasabiError> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (e: OvasabiError) => e,
  )
}

const fast = { backoff: { initialMs: 5, maxMs: 20 }, frequency: 1 } satisfies Partial<RealtimeOptions>

for (const dialect of DIALECTS) {
  describe(`SDK: a refused socket is told from a drop (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    const conns: RealtimeConnection[] = []
    const guest = async (WebSocketImpl: WebSocketCtor): Promise<OvasabiClient> => {
      const c = createClient({ baseUrl, WebSocket: WebSocketImpl })
      await c.createSession()
      return c
    }
    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      for (const c of conns) c.close()
      await ctx.close()
    })
    const keep = (c: RealtimeConnection) => {
      conns.push(c)
      return c
    }

    test('an unknown campaign: closed with CAMPAIGN_NOT_FOUND after one socket; waiting dispatches get it', async () => {
      const ws = recordingSockets()
      const client = await guest(ws.WebSocket)
      const probes = recordingFetch()
      const conn = keep(client.connect(`nowhere_${Date.now()}`, { ...fast, fetch: probes.fetch }))
      const seen = errorsOf(conn)
      const waiting = rejection(conn.dispatch('x.y', {}))
      await until(() => conn.state === 'closed', 'closed')
      assert.deepEqual([conn.error?.status, conn.error?.code], [404, 'CAMPAIGN_NOT_FOUND'])
      assert.deepEqual(
        seen.map((e) => e.code),
        ['CAMPAIGN_NOT_FOUND'],
      )
      assert.equal((await waiting).code, 'CAMPAIGN_NOT_FOUND')
      // One socket, one probe: the next attempt waited for the probe's answer, and none came after.
      assert.equal(ws.sockets.length, 1)
      assert.equal(probes.calls.length, 1)
      // The probe is the socket's URL over HTTP, the token as Bearer (never in the URL).
      const probe = probes.calls[0]!
      assert.match(probe.url, /^http:\/\/127\.0\.0\.1:\d+\/ws\/nowhere_\d+\/guest$/)
      assert.equal(probe.authorization, `Bearer ${client.token}`)
      assert.equal(probe.status, 404)
    })

    test('a token the server refuses (401): closed with its code, by subprotocol or ?token=', async () => {
      const slug = await createCampaign(ctx.app)
      for (const tokenTransport of ['protocol', 'query'] as const) {
        const ws = recordingSockets()
        const client = createClient({ baseUrl, token: 'not.a.token', WebSocket: ws.WebSocket })
        const conn = keep(client.connect(slug, { ...fast, userId: 'guest', tokenTransport }))
        const seen = errorsOf(conn)
        await until(() => conn.state === 'closed', `closed (${tokenTransport})`)
        assert.deepEqual([conn.error?.status, conn.error?.code], [401, 'INVALID_TOKEN'], tokenTransport)
        assert.deepEqual(
          seen.map((e) => e.status),
          [401],
        )
        assert.equal(ws.sockets.length, 1, tokenTransport)
      }
    })

    test('a 401 for a token the hook has replaced since is retried with the new one', async () => {
      const slug = await createCampaign(ctx.app)
      const good = (await ctx.app.platform.tokens.issueGuest()).token
      let asked = 0
      const ws = recordingSockets()
      const client = createClient({ baseUrl, WebSocket: ws.WebSocket })
      // The first attempt gets an expired-looking token; by the time the probe answers, a new one.
      const conn = keep(
        client.connect(slug, { ...fast, userId: 'guest', token: () => (asked++ ? good : 'stale.token.x') }),
      )
      const seen = errorsOf(conn)
      await until(() => conn.state === 'open', 'open with the new token')
      assert.equal(conn.error, undefined)
      assert.deepEqual(seen, [])
      assert.equal(ws.sockets.length, 2)
    })

    test('another user’s path (403 USER_MISMATCH) and a draft campaign (409) close with the server’s error', async () => {
      const slug = await createCampaign(ctx.app)
      const draft = await createCampaign(ctx.app, { draft: true })
      const client = await guest(recordingSockets().WebSocket)
      const mismatch = keep(client.connect(slug, { ...fast, userId: 'someone_else' }))
      const notActive = keep(client.connect(draft, fast))
      await until(() => mismatch.state === 'closed' && notActive.state === 'closed', 'both closed')
      assert.deepEqual([mismatch.error?.status, mismatch.error?.code], [403, 'USER_MISMATCH'])
      assert.match(mismatch.error?.message ?? '', /guest/)
      assert.deepEqual(
        [notActive.error?.status, notActive.error?.code, notActive.error?.details],
        [409, 'CAMPAIGN_NOT_ACTIVE', { status: 'draft' }],
      )
    })

    test('a drop before `connected` where the server would admit (426) keeps reconnecting', async () => {
      const slug = await createCampaign(ctx.app)
      const relay = await upgradeDroppingRelay(baseUrl)
      try {
        const ws = recordingSockets()
        const client = createClient({ baseUrl: relay.url, WebSocket: ws.WebSocket })
        await client.createSession()
        const probes = recordingFetch()
        const conn = keep(client.connect(slug, { ...fast, fetch: probes.fetch }))
        const seen = errorsOf(conn)
        await until(() => probes.calls.some((c) => c.status === 426), 'a probe answered 426')
        assert.notEqual(conn.state, 'closed')
        relay.dropUpgrades = false
        await until(() => conn.state === 'open', 'open once upgrades pass')
        assert.equal(conn.error, undefined)
        assert.deepEqual(seen, [])
        assert.ok(ws.sockets.length >= 2)
      } finally {
        await relay.close()
      }
    })

    test('no answer to the probe (the server unreachable) keeps reconnecting too', async () => {
      const slug = await createCampaign(ctx.app)
      const relay = await upgradeDroppingRelay(baseUrl)
      relay.refuseAll = true
      try {
        const client = createClient({
          baseUrl: relay.url,
          token: (await ctx.app.platform.tokens.issueGuest()).token,
        })
        const ws = recordingSockets()
        const conn = keep(client.connect(slug, { ...fast, userId: 'guest', WebSocket: ws.WebSocket }))
        const seen = errorsOf(conn)
        await until(() => ws.sockets.length >= 3, 'three attempts')
        assert.equal(conn.state, 'reconnecting')
        relay.refuseAll = false
        relay.dropUpgrades = false
        await until(() => conn.state === 'open', 'open once the server is reachable')
        assert.deepEqual(seen, [])
      } finally {
        await relay.close()
      }
    })
  })
}

describe('SDK: 429 TOO_MANY_CONNECTIONS waits its Retry-After', () => {
  let ctx: TestContext
  let baseUrl: string
  const conns: RealtimeConnection[] = []
  before(async () => {
    ctx = await buildTestApp({ env: { WS_MAX_SOCKETS_PER_SESSION: '1' } })
    baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of conns) c.close()
    await ctx.close()
  })

  test('the second socket of a session at its limit waits, then opens once the first closed', async () => {
    const slug = await createCampaign(ctx.app)
    const token = (await ctx.app.platform.tokens.issueGuest()).token
    const first = createClient({ baseUrl, token, WebSocket: WebSocket as unknown as WebSocketCtor }).connect(
      slug,
      fast,
    )
    conns.push(first)
    await until(() => first.state === 'open', 'first open')
    const ws = recordingSockets()
    // A backoff of a millisecond: only the Retry-After keeps it from trying again at once.
    const second = createClient({ baseUrl, token, WebSocket: ws.WebSocket }).connect(slug, {
      ...fast,
      backoff: { initialMs: 1, maxMs: 1 },
    })
    conns.push(second)
    const seen = errorsOf(second)
    await until(() => seen.length > 0, 'the refusal')
    assert.deepEqual(
      [seen[0]!.status, seen[0]!.code, seen[0]!.retryAfter, seen[0]!.details],
      [429, 'TOO_MANY_CONNECTIONS', 10, { scope: 'session', limit: 1 }],
    )
    assert.equal(second.state, 'reconnecting')
    assert.equal(second.error, undefined)
    first.close()
    await until(() => second.state === 'open', 'second open after Retry-After')
    // The refused socket, then the one after Retry-After: none in between.
    assert.equal(ws.sockets.length, 2)
    assert.equal(seen.length, 1)
  })
})
