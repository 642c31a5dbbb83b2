// `GET /api/campaign/{slug}/streams/live`: what a visitor's page reads after `resync_required`
// instead of guessing from viewer counts. It tells what `stream_event`s tell, and nothing more.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  buildTestApp,
  captureFrames,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  type TestContext,
  userToken,
} from './helper.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const INGEST = STREAM_URLS.STREAM_INGEST_URL_TEMPLATE

for (const dialect of DIALECTS) {
  describe(`campaign live streams read by visitors (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    let owner: string
    let guest: string
    const frames: RealtimeMessage[] = []

    before(async () => {
      // One owner keeps several streams open at once here, in every state.
      ctx = await buildTestApp({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '20' } })
      await captureFrames(ctx.app, (m) => frames.push(m as RealtimeMessage))
      slug = await createCampaign(ctx.app)
      owner = await userToken(ctx.app, 'user_owner')
      guest = (await guestToken(ctx.app)).token
    })
    after(async () => ctx.close())

    const read = (campaign: string, token?: string) =>
      ctx.app.inject({
        url: `/api/campaign/${campaign}/streams/live`,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
    async function start(campaign: string, title: string, live = true) {
      const res = await sendAction(ctx.app, campaign, owner, 'stream.start', { title })
      assert.equal(res.statusCode, 200, res.body)
      const started = json(res).result as { stream_id: number; ingest_url: string; playback_url: string }
      if (live) {
        const r = await sendAction(ctx.app, campaign, owner, 'stream.start', { stream_id: started.stream_id })
        assert.equal(r.statusCode, 200, r.body)
      }
      return started
    }
    const lastStatus = (id: number) =>
      frames
        .filter(
          (f) => f.frame.type === 'stream_event' && f.frame.stream_id === id && f.frame.kind === 'status',
        )
        .at(-1)?.frame

    it('a guest session reads live, paused and starting streams; a stopped one is gone', async () => {
      const live = await start(slug, 'On air')
      const paused = await start(slug, 'Coffee break')
      const starting = await start(slug, 'Soon', false)
      const stopped = await start(slug, 'Over')
      for (const [action, id] of [
        ['stream.pause', paused.stream_id],
        ['stream.stop', stopped.stream_id],
      ] as const) {
        const r = await sendAction(ctx.app, slug, owner, action, { stream_id: id })
        assert.equal(r.statusCode, 200, r.body)
      }

      const res = await read(slug, guest)
      assert.equal(res.statusCode, 200, res.body)
      const { streams } = json(res) as { streams: Array<Record<string, unknown>> }
      const byId = new Map(streams.map((s) => [s.stream_id, s]))
      assert.equal(byId.has(stopped.stream_id), false, 'an ended stream is not listed')
      assert.equal(streams.length, 3)

      const on = byId.get(live.stream_id)!
      assert.equal(on.status, 'live')
      assert.equal(on.title, 'On air')
      assert.equal(on.viewers, 0)
      assert.ok(Date.parse(on.started_at as string) <= Date.now())
      const off = byId.get(paused.stream_id)!
      assert.equal(off.status, 'paused')
      assert.equal(off.title, 'Coffee break')
      assert.equal('viewers' in off, false, 'viewer counts are for live streams, as their frames')
      assert.equal(typeof off.started_at, 'string')
      assert.deepEqual(byId.get(starting.stream_id), {
        stream_id: starting.stream_id,
        title: 'Soon',
        status: 'starting',
        started_at: null,
        playback_url: starting.playback_url,
        mine: false,
      })
      // Its owner reads the same streams as its own: the page shows them its controls.
      const own = json(await read(slug, owner)).streams as Array<Record<string, unknown>>
      assert.deepEqual(
        own.map((s) => [s.stream_id, s.mine]),
        streams.map((s) => [s.stream_id, true]),
      )

      // The same status and title the stream's last status frame told the campaign.
      for (const s of streams) {
        const frame = lastStatus(s.stream_id as number)!
        assert.equal(s.status, frame.status)
        assert.equal(s.title, frame.title)
        // A visitor who came after the stream went live can watch it too.
        assert.equal(s.playback_url, frame.playback_url)
      }
    })

    it('tells nothing a frame does not: no owner, ingest key or ingest URL', async () => {
      const started = await start(slug, 'Secret check')
      const key = started.ingest_url.slice(INGEST.indexOf('{key}'))
      assert.ok(key.length >= 20)
      const res = await read(slug, guest)
      assert.equal(res.statusCode, 200)
      for (const secret of [key, 'user_owner', 'rtmp://', 'ingest', 'owner', 'email']) {
        assert.equal(res.body.includes(secret), false, `the body names ${secret}`)
      }
      for (const s of json(res).streams) {
        assert.deepEqual(
          Object.keys(s).filter(
            (k) =>
              !['stream_id', 'title', 'status', 'started_at', 'playback_url', 'viewers', 'mine'].includes(k),
          ),
          [],
        )
      }
    })

    it("lists only this campaign's streams; an unknown campaign is 404", async () => {
      const other = await createCampaign(ctx.app)
      const theirs = await start(other, 'Elsewhere')
      const mine = json(await read(slug, guest)).streams.map((s: { stream_id: number }) => s.stream_id)
      assert.equal(mine.includes(theirs.stream_id), false)
      const res = await read(other, guest)
      assert.equal(res.statusCode, 200)
      assert.deepEqual(
        json(res).streams.map((s: { stream_id: number }) => s.stream_id),
        [theirs.stream_id],
      )
      const missing = await read('no-such-campaign-x', guest)
      assert.equal(missing.statusCode, 404, missing.body)
    })

    it('a campaign without streaming is refused as its stream actions are: 403 FEATURE_DISABLED', async () => {
      const off = await createCampaign(ctx.app, { features: FEATURES.filter((f) => f !== 'streaming') })
      const res = await read(off, guest)
      assert.equal(res.statusCode, 403, res.body)
      assert.equal(json(res).error.code, 'FEATURE_DISABLED')
      const action = await sendAction(ctx.app, off, owner, 'stream.start', { title: 'x' })
      assert.equal(json(action).error.code, json(res).error.code)
    })

    it('no token: 401; a bad token: 401', async () => {
      const none = await read(slug)
      assert.equal(none.statusCode, 401, none.body)
      const bad = await read(slug, 'not-a-token')
      assert.equal(bad.statusCode, 401, bad.body)
    })
  })
}
