// What the qa30b ingest tests share: the media server's secret, and its calls as it sends them.
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  buildTestApp,
  captureFrames,
  type Dialect,
  json,
  listenLocally,
  sendAction,
  type TestContext,
} from './helper.js'
import { STREAM_URLS } from './streamsource/helpers.js'

export const SECRET = 'ingest-secret-for-tests-0123456789'

/** The app's stream settings, the ingest secret set. */
export const INGEST_ENV = { ...STREAM_URLS, STREAM_OPEN_PER_USER: '50', STREAM_INGEST_AUTH_SECRET: SECRET }

/** The publishing key in an ingest URL (`rtmp://ingest.test/live/{key}`). */
export const keyOf = (ingestUrl: string) => ingestUrl.slice('rtmp://ingest.test/live/'.length)

/** nginx-rtmp's notification to `base`: a form post, the secret (if any) in the URL, redirects not followed. */
export function nginxRtmp(base: string, fields: Record<string, string>, secret: string | null = SECRET) {
  const query = secret === null ? '' : `?secret=${encodeURIComponent(secret)}`
  return fetch(`${base}/api/streams/ingest/nginx-rtmp${query}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      app: 'live',
      tcurl: 'rtmp://ingest.test/live',
      addr: '198.51.100.7',
      clientid: '1',
      ...fields,
    }).toString(),
  })
}

/** `stream.start` of a new stream in `slug` by `token`'s person: its id and publishing key. */
export async function startStream(app: FastifyInstance, slug: string, token: string) {
  const res = await sendAction(app, slug, token, 'stream.start', { title: 'Ingest' })
  assert.equal(res.statusCode, 200, res.body)
  const r = json(res).result as { stream_id: number; ingest_url: string }
  return { id: r.stream_id, key: keyOf(r.ingest_url) }
}

/**
 * A suite's app (`env` added to `INGEST_ENV`) listening on a real socket, every frame it publishes
 * captured; the fields are set once the suite's `before` ran.
 */
export function ingestSuite(dialect: Dialect, env: Record<string, string> = {}) {
  const suite = { ctx: undefined as unknown as TestContext, base: '', frames: [] as RealtimeMessage[] }
  before(async () => {
    suite.ctx = await buildTestApp({ dialect, env: { ...INGEST_ENV, ...env } })
    await captureFrames(suite.ctx.app, (m) => suite.frames.push(m as RealtimeMessage))
    suite.base = await listenLocally(suite.ctx.app)
  })
  after(async () => suite.ctx.close())
  return suite
}
