// Ingest authorisation for campaign live streams (qa30b). A media server (nginx-rtmp's
// `on_publish`/`on_update`/`on_publish_done`, MediaMTX's external HTTP auth) had nothing to ask:
// any key published, an ended stream's key too, and an encoder that dropped left its stream
// "live". Keys were stored as they are. Over a real socket, with the bodies those servers send.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { loggableUrl } from '../src/platform/observability/logger.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  listenLocally,
  sendAction,
  type TestContext,
  userToken,
} from './helper.js'
import { ingestSuite, nginxRtmp, SECRET, startStream } from './streams-qa30b-ingest-fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

for (const dialect of DIALECTS) {
  describe(`live stream ingest authorisation (${dialect})`, () => {
    const suite = ingestSuite(dialect, { STREAM_INGEST_AUTH_FAILURES_PER_MINUTE: '5' })
    let slug: string
    let owner: string
    before(async () => {
      slug = await createCampaign(suite.ctx.app)
      owner = await userToken(suite.ctx.app, 'user_ingest_owner')
    })

    const start = () => startStream(suite.ctx.app, slug, owner)
    async function step(action: string, id: number) {
      const res = await sendAction(suite.ctx.app, slug, owner, action, { stream_id: id })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result
    }
    const rtmp = (fields: Record<string, string>, secret: string | null = SECRET) =>
      nginxRtmp(suite.base, fields, secret)
    /** MediaMTX's external authentication: JSON. */
    const mtx = (body: Record<string, string>, secret = SECRET) =>
      fetch(`${suite.base}/api/streams/ingest/mediamtx`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ingest-secret': secret },
        body: JSON.stringify({
          user: '',
          password: '',
          ip: '203.0.113.9',
          protocol: 'rtmp',
          id: null,
          query: '',
          ...body,
        }),
      })

    it('nginx-rtmp on_publish: the key of an open stream is renamed to the stream id; unknown and ended keys are 403', async () => {
      const s = await start()
      const ok = await rtmp({ call: 'publish', name: s.key })
      assert.equal(ok.status, 302, await ok.text())
      // The HLS path becomes the stream id, as the playback template's {stream_id} expects.
      assert.equal(ok.headers.get('location'), String(s.id))

      const unknown = await rtmp({ call: 'publish', name: 'not-a-key-of-any-stream', addr: '198.51.100.8' })
      assert.equal(unknown.status, 403)
      assert.equal((await unknown.json()).error.code, 'STREAM_KEY_REFUSED')

      await step('stream.stop', s.id)
      const ended = await rtmp({ call: 'publish', name: s.key, addr: '198.51.100.8' })
      assert.equal(ended.status, 403)
      // on_update for an ended stream drops its publisher.
      const update = await rtmp({ call: 'update', name: String(s.id) })
      assert.equal(update.status, 403)
    })

    it('a missing or wrong secret is 401; the endpoints are the media server’s only', async () => {
      const s = await start()
      assert.equal((await rtmp({ call: 'publish', name: s.key }, null)).status, 401)
      assert.equal((await rtmp({ call: 'publish', name: s.key }, `${SECRET}x`)).status, 401)
      assert.equal((await mtx({ action: 'publish', path: `live/${s.key}` }, 'wrong')).status, 401)
    })

    it('nginx-rtmp on_publish_done pauses a live stream and tells the campaign, as a pause does', async () => {
      const s = await start()
      await step('stream.start', s.id)
      const done = await rtmp({ call: 'publish_done', name: String(s.id) })
      assert.equal(done.status, 200)
      const row = await suite.ctx.app.platform.database.db
        .selectFrom('service_stream_main')
        .select('live_status')
        .where('id', '=', s.id)
        .executeTakeFirstOrThrow()
      assert.equal(row.live_status, 'paused')
      const last = suite.frames
        .filter(
          (f) =>
            f.frame.type === 'stream_event' && f.frame.stream_id === s.id && f.audience.scope === 'campaign',
        )
        .at(-1)?.frame
      assert.equal(last?.status, 'paused')
      // The publisher comes back with its key: still allowed (paused is not ended).
      assert.equal((await rtmp({ call: 'publish', name: s.key })).status, 302)
    })

    it('MediaMTX: publish by path or by query key; read only streams that have not ended; other actions refused', async () => {
      const s = await start()
      assert.equal((await mtx({ action: 'publish', path: `live/${s.key}` })).status, 200)
      assert.equal(
        (await mtx({ action: 'publish', path: `live/${s.id}`, query: `key=${s.key}` })).status,
        200,
      )
      // A key given beside the path publishes only to its own stream's path.
      assert.equal(
        (await mtx({ action: 'publish', path: `live/${s.id + 1000}`, query: `key=${s.key}` })).status,
        403,
      )
      assert.equal(
        (await mtx({ action: 'publish', path: 'live/guessed-key', ip: '203.0.113.10' })).status,
        403,
      )
      assert.equal((await mtx({ action: 'read', path: `live/${s.id}` })).status, 200)
      assert.equal((await mtx({ action: 'playback', path: `live/${s.id}` })).status, 200)
      assert.equal((await mtx({ action: 'api', path: '' })).status, 403)
      await step('stream.stop', s.id)
      assert.equal((await mtx({ action: 'read', path: `live/${s.id}` })).status, 403)
      assert.equal((await mtx({ action: 'publish', path: `live/${s.key}`, ip: '203.0.113.10' })).status, 403)
    })

    it('refused keys are limited per publisher address: a guesser is 429, other publishers are not', async () => {
      const s = await start()
      const guesser = '192.0.2.50'
      for (let i = 0; i < 5; i++) {
        const r = await rtmp({ call: 'publish', name: `guess-${i}`, addr: guesser })
        assert.equal(r.status, 403)
      }
      const limited = await rtmp({ call: 'publish', name: s.key, addr: guesser })
      assert.equal(limited.status, 429)
      assert.equal((await limited.json()).error.code, 'INGEST_RATE_LIMITED')
      assert.equal((await rtmp({ call: 'publish', name: s.key, addr: '192.0.2.51' })).status, 302)
    })

    it('the key is stored as its sha256 only and named in the creating answer alone', async () => {
      const s = await start()
      const row = await sql<
        Record<string, unknown>
      >`select * from service_stream_main where id = ${s.id}`.execute(suite.ctx.app.platform.database.db)
      const stored = JSON.stringify(row.rows[0])
      assert.equal(stored.includes(s.key), false, 'no column holds the key')
      assert.equal(row.rows[0]!.ingest_key_hash, createHash('sha256').update(s.key).digest('hex'))
      const live = await step('stream.start', s.id)
      assert.equal(live.ingest_url, undefined)
      assert.equal(typeof live.playback_url, 'string')
    })
  })
}

describe('the ingest secret in a logged URL', () => {
  it('is withheld: nginx-rtmp can only send it in the query', () => {
    const logged = loggableUrl(`/api/streams/ingest/nginx-rtmp?secret=${SECRET}&x=1`)
    assert.equal(logged.includes(SECRET), false, logged)
    assert.match(logged, /^\/api\/streams\/ingest\/nginx-rtmp\?secret=/)
  })
})

describe('live stream ingest authorisation without a secret', () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ env: { ...STREAM_URLS } })
  })
  after(async () => ctx.close())

  it('answers 503 INGEST_AUTH_DISABLED, so no key is ever accepted unchecked', async () => {
    const base = await listenLocally(ctx.app)
    const res = await fetch(`${base}/api/streams/ingest/nginx-rtmp?secret=anything`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'call=publish&app=live&name=whatever',
    })
    assert.equal(res.status, 503)
    assert.equal((await res.json()).error.code, 'INGEST_AUTH_DISABLED')
  })
})
