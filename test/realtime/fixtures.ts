import type { Socket } from 'node:net'
import { after, before } from 'node:test'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import WebSocket from 'ws'
import { createClient, type WebSocketCtor } from '../../client/index.js'
import { Admission, type AdmissionDeps } from '../../src/realtime/admission.js'
import { createRealtimeMetrics } from '../../src/realtime/metrics.js'
import { buildTestApp, createCampaign, type TestAppOptions, type TestContext } from '../helper.js'
import { baseUrl, connect, metric, type TestClient } from './client.js'

/**
 * The app of one `describe` block, listening on a real port, and the sockets its tests open.
 * Registers that block's `before` (build, listen) and `after` (close every socket kept, then the
 * app), so hooks the block adds afterwards see a listening app. Read its fields inside hooks and
 * tests only.
 */
export function realtimeSuite(options: TestAppOptions = {}) {
  let started: TestContext | undefined
  const clients: TestClient[] = []
  const ctx = () => {
    if (!started) throw new Error('the suite has not started: use it inside a hook or a test')
    return started
  }
  before(async () => {
    started = await buildTestApp(options)
    await started.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of clients) c.close()
    await started?.close()
  })
  const suite = {
    get ctx(): TestContext {
      return ctx()
    },
    get app(): FastifyInstance {
      return ctx().app
    },
    /** `ws://127.0.0.1:<port>` */
    get url(): string {
      return baseUrl(ctx().app)
    },
    get port(): number {
      return (ctx().app.server.address() as { port: number }).port
    },
    /** Keep `c` to close after the suite. */
    keep(c: TestClient): TestClient {
      clients.push(c)
      return c
    },
    /** Connect to `path` (`/ws/…`) as `connect` does; the socket is closed after the suite. */
    async open(path: string, options?: Parameters<typeof connect>[1]): Promise<TestClient> {
      return suite.keep(await connect(`${suite.url}${path}`, options))
    },
    /** A new guest session's token. */
    async guestToken(): Promise<string> {
      return (await ctx().app.platform.tokens.issueGuest()).token
    },
    /** A new guest's socket on campaign `slug`; `query` goes on after its token (`&since=…`). */
    async openGuest(slug: string, query = ''): Promise<TestClient> {
      return suite.open(`/ws/${slug}/guest?token=${await suite.guestToken()}${query}`)
    },
  }
  return suite
}

export type RealtimeSuite = ReturnType<typeof realtimeSuite>

/**
 * A campaign ticking at 20 Hz with two guests on it, both without padding: `slow`, whose TCP
 * `socket` the test pauses to make it a slow consumer, and `reader`, which keeps reading.
 */
export async function slowAndReader(live: RealtimeSuite) {
  const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
  const slow = unpadded(await live.openGuest(slug))
  const reader = unpadded(await live.openGuest(slug))
  return { slug, slow, reader, socket: tcpSocket(slow.ws) }
}

/** A `campaign_event` numbered `n` (and carrying `extra`, e.g. padding) published to campaign `slug`. */
export function publishEvent(
  app: FastifyInstance,
  slug: string,
  n: number,
  extra: Record<string, unknown> = {},
) {
  return app.publisher.publish(
    { scope: 'campaign', campaign: slug },
    { type: 'campaign_event', event: 'x.y', n, ...extra },
  )
}

/** `ovasabi_ws_frames_sent_total{type}` as `/metrics` shows it. */
export const framesSent = (app: FastifyInstance, type: string) =>
  metric(app, 'ovasabi_ws_frames_sent_total', `type="${type}"`)

/** `ovasabi_ws_frames_dropped_total{reason}` as `/metrics` shows it. */
export const framesDropped = (app: FastifyInstance, reason: string) =>
  metric(app, 'ovasabi_ws_frames_dropped_total', `reason="${reason}"`)

/** The 64 KB padding is not kept: a failed wait prints the last frames. */
export function unpadded(c: TestClient): TestClient {
  c.ws.on('message', () => void delete c.frames.at(-1)?.big)
  return c
}

/** The TCP socket under a `ws` client: pausing it stops the client reading, as a slow consumer. */
export function tcpSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket
}

/** The SDK against the app at `url` (`ws://…`); `sockets` holds every WebSocket it opened, in order. */
export function recordingSdk(url: string) {
  const sockets: WebSocket[] = []
  class Recorded extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      sockets.push(this)
    }
  }
  const sdk = createClient({
    baseUrl: url.replace('ws:', 'http:'),
    WebSocket: Recorded as unknown as WebSocketCtor,
  })
  return { sdk, sockets }
}

const silent = { warn() {}, info() {}, error() {}, debug() {} } as unknown as FastifyBaseLogger

/**
 * The gateway's admission on its own, counting into `registry`, with no authenticator, campaigns,
 * origins or socket limits behind it: for refusals that come before any of them is asked.
 */
export function standaloneAdmission(
  registry: Registry,
  deps: Pick<AdmissionDeps, 'closing' | 'accept'>,
): Admission {
  return new Admission({
    authenticator: {} as never,
    campaigns: {} as never,
    metrics: createRealtimeMetrics(registry),
    log: silent,
    config: {
      TRUST_PROXY: 'false',
      CORS_ORIGINS: [],
      PUBLIC_URL: undefined,
      WS_MAX_SOCKETS_PER_SESSION: 0,
      WS_MAX_SOCKETS_PER_IP: 0,
    },
    ...deps,
  })
}
