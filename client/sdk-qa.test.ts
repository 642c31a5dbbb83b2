// The SDK as a demanding app uses it, against the real server on a real port: path encoding,
// typed errors (also from a proxy that is not the server, or from no answer at all), REST
// idempotency, and the real-time connection across drops made by a TCP relay in between.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type Socket, connect as tcpConnect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { ADMIN_KEY, buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import {
  createClient,
  type FetchLike,
  type FrameMap,
  type OvasabiClient,
  OvasabiError,
  type RealtimeConnection,
  type WebSocketCtor,
} from './index.js'

const WS = WebSocket as unknown as WebSocketCtor

/** The error a call failed with (fails the test when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<OvasabiError> {
  try {
    await call
  } catch (err) {
    assert.ok(err instanceof OvasabiError, `not an OvasabiError: ${String(err)}`)
    return err
  }
  assert.fail('expected the call to be refused')
}

/** Waits for `cond` (generous limit: a failure means it never happened, not that it was slow). */
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The first frame of `type` matching `pred` that arrives from now on. */
function next<K extends keyof FrameMap>(
  conn: RealtimeConnection,
  type: K,
  pred: (f: FrameMap[K]) => boolean = () => true,
  ms = 15_000,
): Promise<FrameMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no ${type} frame within ${ms} ms`))
    }, ms)
    const off = conn.on(type, ((f: FrameMap[K]) => {
      if (!pred(f)) return
      clearTimeout(timer)
      off()
      resolve(f)
    }) as never)
  })
}

/** A `fetch` that records every URL it is asked for. */
function recordingFetch(): { fetch: FetchLike; urls: string[] } {
  const urls: string[] = []
  const fetch: FetchLike = (input, init) => {
    urls.push(input)
    return globalThis.fetch(input, init)
  }
  return { urls, fetch }
}

/**
 * A TCP relay in front of the server: `drop()` cuts every connection through it (the client sees
 * a network drop, 1006), `refuse` makes it turn new connections away until set back.
 */
async function startRelay(target: string) {
  const { hostname, port } = new URL(target)
  const pairs = new Set<[Socket, Socket]>()
  const relay = {
    refuse: false,
    url: '',
    drop() {
      for (const [a, b] of pairs) {
        a.destroy()
        b.destroy()
      }
      pairs.clear()
    },
    close: () => {
      relay.drop()
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
  const server = createTcpServer((inbound) => {
    if (relay.refuse) return void inbound.destroy()
    const outbound = tcpConnect(Number(port), hostname)
    const pair: [Socket, Socket] = [inbound, outbound]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      inbound.destroy()
      outbound.destroy()
    }
    inbound.on('error', end).on('close', end)
    outbound.on('error', end).on('close', end)
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const address = server.address() as { port: number }
  relay.url = `http://127.0.0.1:${address.port}`
  return relay
}

/** A plain HTTP server standing for a proxy or a broken upstream: `handle` answers each request. */
async function startUpstream(handle: (path: string, res: ServerResponse) => void) {
  const server: Server = createServer((req, res) => handle(req.url ?? '/', res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
}

describe('SDK QA: typed errors from answers that are not the server’s', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  before(async () => {
    upstream = await startUpstream((path, res) => {
      if (path.startsWith('/html502')) {
        res.writeHead(502, { 'content-type': 'text/html', 'x-request-id': 'proxy-1' })
        res.end('<html><body><h1>502 Bad Gateway</h1></body></html>')
      } else if (path.startsWith('/empty503')) {
        res.writeHead(503, { 'retry-after': '7' })
        res.end()
      } else if (path.startsWith('/date429')) {
        res.writeHead(429, {
          'content-type': 'application/json',
          'retry-after': new Date(Date.now() + 60_000).toUTCString(),
        })
        res.end(JSON.stringify({ status: 'error', error: { code: 'RATE_LIMITED', message: 'slow down' } }))
      } else if (path.startsWith('/stall')) {
        // Headers, then a body that never ends: the deadline covers the answer too.
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"campaigns":')
      }
      // Anything else: never answered.
    })
  })
  after(() => upstream.close())

  test('an HTML 502 and an empty 503 become typed errors with status, code and Retry-After', async () => {
    const html = await refusal(createClient({ baseUrl: `${upstream.url}/html502` }).health())
    assert.deepEqual(
      [html.status, html.code, html.details, html.requestId],
      [502, 'HTTP_ERROR', undefined, 'proxy-1'],
    )
    const empty = await refusal(createClient({ baseUrl: `${upstream.url}/empty503` }).health())
    assert.deepEqual([empty.status, empty.code, empty.retryAfter], [503, 'SERVICE_UNAVAILABLE', 7])
  })

  test('Retry-After given as an HTTP date is read as the seconds until then', async () => {
    const limited = await refusal(createClient({ baseUrl: `${upstream.url}/date429` }).health())
    assert.deepEqual([limited.status, limited.code], [429, 'RATE_LIMITED'])
    assert.ok(
      typeof limited.retryAfter === 'number' && limited.retryAfter > 0 && limited.retryAfter <= 61,
      `retryAfter ${limited.retryAfter}`,
    )
  })

  test('no answer, a stalled body, an abort and a refused connection are TIMEOUT, ABORTED, NETWORK_ERROR', async () => {
    const slow = createClient({ baseUrl: `${upstream.url}/silent`, timeoutMs: 200 })
    const silent = await refusal(slow.health())
    assert.deepEqual([silent.code, silent.status], ['TIMEOUT', 0])
    const stalled = await refusal(createClient({ baseUrl: `${upstream.url}/stall`, timeoutMs: 200 }).health())
    assert.deepEqual([stalled.code, stalled.status], ['TIMEOUT', 0])

    const ctl = new AbortController()
    const call = createClient({ baseUrl: `${upstream.url}/silent` }).translation.translate(
      { q: 'x', target: 'de' },
      ctl.signal,
    )
    ctl.abort()
    const aborted = await refusal(call)
    assert.deepEqual([aborted.code, aborted.status], ['ABORTED', 0])

    // A port nobody listens on (the upstream's, once closed, is taken by nothing else here).
    const gone = await startUpstream(() => {})
    await gone.close()
    const offline = createClient({ baseUrl: gone.url })
    const down = await refusal(offline.health())
    assert.deepEqual([down.code, down.status], ['NETWORK_ERROR', 0])
  })

  test('media.put to an unreachable upload URL is a NETWORK_ERROR too', async () => {
    const gone = await startUpstream(() => {})
    await gone.close()
    const client = createClient({ baseUrl: gone.url })
    const failed = await refusal(client.media.put('/upload/x', new Uint8Array([1, 2, 3])))
    assert.deepEqual([failed.code, failed.status], ['NETWORK_ERROR', 0])
  })
})

for (const dialect of DIALECTS) {
  describe(`SDK QA against the real server (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    let admin: OvasabiClient
    const open: RealtimeConnection[] = []
    const relays: Array<{ close: () => Promise<void> }> = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
    })
    after(async () => {
      for (const c of open) c.close()
      for (const r of relays) await r.close()
      await ctx.close()
    })

    const relay = async () => {
      const r = await startRelay(baseUrl)
      relays.push(r)
      return r
    }
    const publish = (slug: string, n: number) =>
      ctx.app.publisher.publish(
        { scope: 'campaign', campaign: slug },
        { type: 'campaign_event', event: 'x.y', n },
      )

    test('ids with spaces, slashes, ? # and unicode are percent-encoded and reach their own route', async () => {
      const rec = recordingFetch()
      const client = createClient({ baseUrl, apiKey: ADMIN_KEY, fetch: rec.fetch })
      const odd = 'a b/c?d#e€'
      const refused = await refusal(client.quotes.get(odd))
      // The quote route's own check, not another route (ROUTE_NOT_FOUND) nor a query string.
      assert.deepEqual([refused.status, refused.code], [400, 'VALIDATION_FAILED'])
      assert.equal(rec.urls.at(-1), `${baseUrl}/api/quote/a%20b%2Fc%3Fd%23e%E2%82%AC`)
      const slug = await createCampaign(ctx.app)
      const noHook = await refusal(client.webhooks.remove(slug, odd))
      assert.equal(noHook.code, 'VALIDATION_FAILED')
      assert.equal(rec.urls.at(-1), `${baseUrl}/api/campaign/${slug}/webhooks/a%20b%2Fc%3Fd%23e%E2%82%AC`)
      const noCampaign = await refusal(client.campaigns.stats(odd))
      assert.equal(noCampaign.unavailable, false, noCampaign.code)
    })

    test('an id of "." or ".." is refused before it is sent: URLs would fold it into another route', async () => {
      const rec = recordingFetch()
      const client = createClient({ baseUrl, apiKey: ADMIN_KEY, fetch: rec.fetch })
      const slug = await createCampaign(ctx.app)
      const calls: Array<() => Promise<unknown>> = [
        () => client.leads.setStatus('..', 'lead_x', 'contacted'),
        () => client.leads.erase(slug, '.'),
        () => client.webhooks.remove(slug, '..'),
        () => client.campaigns.get('..'),
        () => client.streamSource.remove('..'),
      ]
      for (const call of calls) {
        const err = await refusal(call())
        // Not ROUTE_NOT_FOUND, which would tell a UI the feature is missing.
        assert.equal(err.code, 'VALIDATION_FAILED')
        assert.equal(err.unavailable, false)
        assert.equal(err.status, 0)
      }
      assert.deepEqual(rec.urls, [], 'nothing was sent')
      // Dots inside an id, or an id spelling `%2e`, are sent as they are, to their own route.
      const dotted = await refusal(client.quotes.get('%2e%2E'))
      assert.deepEqual([dotted.status, dotted.code], [400, 'VALIDATION_FAILED'])
      assert.equal(rec.urls.at(-1), `${baseUrl}/api/quote/%252e%252E`)
      const inner = await refusal(client.campaigns.get('a..b'))
      assert.equal(inner.status, 400, 'answered by the server')
      assert.equal(rec.urls.at(-1), `${baseUrl}/api/campaign/a..b`)
    })

    test('media.remove deletes one’s own upload (the route the table lists for uploader or editor)', async () => {
      const slug = await createCampaign(ctx.app)
      const uploader = createClient({ baseUrl })
      await uploader.createSession()
      const { result } = await uploader.media.requestUpload(slug, {
        filename: 'a.pdf',
        content_type: 'application/pdf',
        size: 10,
      })
      assert.equal((await uploader.media.get(result.media_id)).status, 'pending')
      assert.equal(await uploader.media.remove(slug, result.media_id), undefined)
      const gone = await refusal(uploader.media.get(result.media_id))
      assert.deepEqual([gone.status, gone.code], [404, 'MEDIA_NOT_FOUND'])
      const again = await refusal(admin.media.remove(slug, result.media_id))
      assert.equal(again.status, 404)
    })

    test('a real error body carries code, status, details and the request id of its header', async () => {
      let header: string | null = null
      const client = createClient({
        baseUrl,
        apiKey: ADMIN_KEY,
        fetch: async (input, init) => {
          const res = await globalThis.fetch(input, init)
          header = res.headers.get('x-request-id')
          return res
        },
      })
      const err = await refusal(client.media.list(await createCampaign(ctx.app), { limit: 100_000 }))
      assert.deepEqual([err.status, err.code], [400, 'VALIDATION_FAILED'])
      assert.ok(Array.isArray(err.details) && err.details.length > 0)
      assert.ok(err.requestId && err.requestId === header)
      assert.ok('limit' in err.fieldErrors(), JSON.stringify(err.details))
    })

    test('an action resent with its request id after a lost answer runs once', async () => {
      const slug = await createCampaign(ctx.app)
      let loseNext = true
      const client = createClient({
        baseUrl,
        fetch: async (input, init) => {
          const res = await globalThis.fetch(input, init)
          if (init?.method === 'POST' && input.endsWith('/update') && loseNext) {
            loseNext = false
            await res.text()
            throw new TypeError('fetch failed') // the server acted; its answer was lost on the way
          }
          return res
        },
      })
      await client.createSession()
      const email = `lost-${Date.now()}@example.org`
      const requestId = `qa-${Date.now()}`
      const lost = await refusal(client.action(slug, 'quote.submit', { name: 'Ada', email }, { requestId }))
      assert.equal(lost.code, 'NETWORK_ERROR')
      const again = await client.action<{ lead_id: string; updated: boolean }>(
        slug,
        'quote.submit',
        { name: 'Ada', email },
        { requestId },
      )
      assert.equal(again.request_id, requestId)
      // A second run would have merged into the lead (`updated: true`): this is the first answer.
      assert.equal(again.result.updated, false)
      const leads = await admin.leads.list(slug)
      assert.deepEqual(
        leads.leads.map((l) => l.id),
        [again.result.lead_id],
        'one lead',
      )
      // quotes.submit carries its key as `Idempotency-Key`: the repeat is the first answer.
      const quote = { campaign: slug, name: 'Bo', email: `bo-${Date.now()}@example.org` }
      const idempotencyKey = `qa-quote-${Date.now()}`
      const first = await client.quotes.submit(quote, { idempotencyKey })
      assert.deepEqual(await client.quotes.submit(quote, { idempotencyKey }), first)
      assert.equal(first.result.updated, false)
    })

    test('after a drop the connection comes back, resubscribed, with what it missed: also before its first event', async () => {
      const slug = await createCampaign(ctx.app)
      const r = await relay()
      const client = createClient({ baseUrl: r.url, WebSocket: WS })
      await client.createSession()
      const live = client.connect(slug, { frequency: 20, backoff: { initialMs: 20, maxMs: 200 } })
      open.push(live)
      const events: unknown[] = []
      live.on('campaign_event', (f) => events.push(f.n))
      await until(() => live.state === 'open', 'first open')
      const firstSession = live.session
      // Down with no event seen yet; one is published while it is away.
      r.refuse = true
      r.drop()
      await until(() => live.state === 'reconnecting', 'noticed the drop')
      await publish(slug, 1)
      r.refuse = false
      await until(() => events.includes(1), 'the missed event replayed')
      assert.equal(live.state, 'open')
      assert.notEqual(live.session, firstSession, 'a new socket')
      // And again, now resuming from an event it saw.
      r.refuse = true
      r.drop()
      await until(() => live.state === 'reconnecting', 'noticed the second drop')
      await publish(slug, 2)
      r.refuse = false
      await until(() => events.includes(2), 'the second missed event replayed')
      assert.deepEqual(events, [1, 2], 'each once, in order')
    })

    test('resync_required past the server’s history: handled, then later drops resume after its latest_id', async () => {
      const slug = await createCampaign(ctx.app)
      const r = await relay()
      const client = createClient({ baseUrl: r.url, WebSocket: WS })
      await client.createSession()
      const live = client.connect(slug, { frequency: 20, backoff: { initialMs: 20, maxMs: 200 } })
      open.push(live)
      const resyncs: number[] = []
      const events: number[] = []
      live.on('resync_required', (f) => resyncs.push(f.latest_id))
      live.on('campaign_event', (f) => events.push(f.n as number))
      await until(() => live.state === 'open', 'open')
      r.refuse = true
      r.drop()
      await until(() => live.state === 'reconnecting', 'noticed the drop')
      // More than the history keeps (WS_EVENT_HISTORY_SIZE, 1000 by default).
      for (let n = 1; n <= 1001; n++) await publish(slug, n)
      r.refuse = false
      await until(() => resyncs.length === 1, 'resync_required')
      assert.equal(live.lastEventId, resyncs[0])
      assert.equal(events.length, 0, 'nothing replayed piecemeal')
      r.refuse = true
      r.drop()
      await until(() => live.state === 'reconnecting', 'noticed the second drop')
      await publish(slug, 1002)
      r.refuse = false
      await until(() => events.includes(1002), 'the event after latest_id replayed')
      assert.deepEqual([events, resyncs.length], [[1002], 1])
    })

    test('after register the client’s sockets act as the user, and reconnect as them', async () => {
      const slug = await createCampaign(ctx.app)
      const r = await relay()
      const client = createClient({ baseUrl: r.url, WebSocket: WS })
      await client.createSession()
      const live = client.connect(slug, { frequency: 20, backoff: { initialMs: 20, maxMs: 200 } })
      open.push(live)
      await until(() => live.state === 'open', 'open as a guest')
      assert.equal(live.session?.user_id, 'guest')
      const joined = await client.users.register({
        campaign: slug,
        email: `up-${Date.now()}@example.org`,
        name: 'Upgraded',
      })
      await until(() => live.state === 'open' && live.session?.user_id === joined.user.id, 'open as the user')
      r.drop()
      await until(() => live.state === 'reconnecting', 'noticed the drop')
      await until(() => live.state === 'open', 'back after the drop')
      assert.equal(live.session?.user_id, joined.user.id)
      // A later connect() on the client uses the user's path too.
      const second = client.connect(slug, { frequency: 20 })
      open.push(second)
      await until(() => second.state === 'open', 'second socket open')
      assert.equal(second.session?.user_id, joined.user.id)
    })

    test('the connected frame has the fields the SDK types declare', async () => {
      const slug = await createCampaign(ctx.app)
      const client = createClient({ baseUrl, WebSocket: WS })
      const session = await client.createSession()
      assert.equal(typeof session.token, 'string')
      const live = client.connect(slug, { frequency: 20 })
      open.push(live)
      const connected = await next(live, 'connected')
      for (const key of [
        'session_id',
        'user_id',
        'campaign',
        'cursor_id',
        'active_users',
        'server_time',
        'tick_rate',
        'max_cursors',
        'last_event_id',
        'expires_at',
        'limits',
      ] as const)
        assert.ok(key in connected, `connected.${key}`)
      assert.equal(typeof connected.limits?.max_frame_bytes, 'number')
      await publish(slug, 7)
      const event = await next(live, 'campaign_event')
      assert.equal(typeof event.id, 'number')
      assert.equal(live.lastEventId, event.id)
      const campaign = await admin.campaigns.get(slug)
      assert.equal(typeof (campaign as { version?: unknown }).version, 'number')
    })

    test('close() between the upgrade and `connected`: no frame reaches a handler, the state stays closed', async () => {
      const slug = await createCampaign(ctx.app)
      const client = createClient({ baseUrl })
      await client.createSession()
      let live: RealtimeConnection | undefined
      let upgraded = false
      // Closes the connection the moment its socket is upgraded, before the server's first frame.
      class ClosingOnOpen extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols)
          this.addEventListener('open', () => {
            upgraded = true
            live?.close()
          })
        }
      }
      live = client.connect(slug, { frequency: 20, WebSocket: ClosingOnOpen as unknown as WebSocketCtor })
      const states: string[] = []
      const frames: string[] = []
      live.onState((s) => states.push(s))
      live.on('*', (f) => frames.push(f.type))
      await until(() => upgraded && live.state === 'closed', 'closed on upgrade')
      // The server's `connected` and its close handshake have had time to come and go.
      const other = client.connect(slug, { frequency: 20, WebSocket: WS })
      open.push(other)
      await until(() => other.state === 'open', 'another socket open')
      await new Promise((r) => setTimeout(r, 200))
      assert.deepEqual(frames, [])
      assert.deepEqual(states, ['closed'])
      assert.equal(live.session, undefined)
    })

    test('close() while connecting leaves no socket, no timer: a process that closes exits', async () => {
      const slug = await createCampaign(ctx.app)
      const script = `
        import WebSocket from 'ws'
        import { createClient } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)}
        const c = createClient({ baseUrl: ${JSON.stringify(baseUrl)}, WebSocket })
        await c.createSession()
        const a = c.connect(${JSON.stringify(slug)})
        a.close() // before the frequency lookup answered
        const b = c.connect(${JSON.stringify(slug)}, { frequency: 5 })
        const pending = b.dispatch('x.y', {}, { timeoutMs: 60_000 }).catch((e) => e.code)
        setTimeout(() => b.close(), 0) // while the upgrade is under way
        const d = c.connect(${JSON.stringify(slug)}, { frequency: 5 })
        await new Promise((r) => d.onState((s) => s === 'open' && r()))
        d.sendCursor(0.1, 0.1)
        d.sendCursor(0.2, 0.2) // waits for its turn: a timer
        d.close()
        console.log(a.state, b.state, d.state, await pending)
      `
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: new URL('..', import.meta.url).pathname,
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      const code = await new Promise<number | null>((resolve) => {
        const kill = setTimeout(() => {
          child.kill('SIGKILL')
          resolve(null)
        }, 60_000)
        child.on('exit', (c) => {
          clearTimeout(kill)
          resolve(c)
        })
      })
      assert.equal(code, 0, `the process did not exit by itself: ${out}`)
      assert.equal(out.trim(), 'closed closed closed NOT_CONNECTED')
    })
  })
}
