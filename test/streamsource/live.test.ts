import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { RealtimeMessage } from '../../src/realtime/publish.js'
import type { SocketInfo } from '../../src/realtime/inbound.js'
import {
  captureFrames,
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  type TestContext,
  userToken,
} from '../helper.js'
import { until } from './cable-client.js'
import { STREAM_URLS } from './helpers.js'

function socket(campaign: string, id: string): SocketInfo {
  return { connection_id: id, campaign, user_id: 'guest', session_id: `sess_${id}`, roles: ['guest'] }
}

for (const dialect of DIALECTS) {
  describe(`campaign live streams (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    let owner: string
    let intruder: string
    const frames: RealtimeMessage[] = []

    before(async () => {
      ctx = await buildTestApp({
        dialect,
        env: {
          STREAM_CHAT_MAX_LENGTH: '20',
          STREAM_CHAT_PER_MINUTE: '3',
          // The race below keeps six streams of one owner open at once.
          STREAM_OPEN_PER_USER: '20',
          ...STREAM_URLS,
        },
      })
      await captureFrames(ctx.app, (m) => frames.push(m as RealtimeMessage))
      slug = await createCampaign(ctx.app)
      owner = await userToken(ctx.app, 'user_owner')
      intruder = await userToken(ctx.app, 'user_intruder')
    })
    after(async () => ctx.close())

    const events = (streamId: number, kind: string) =>
      frames.filter(
        (f) => f.frame.type === 'stream_event' && f.frame.stream_id === streamId && f.frame.kind === kind,
      )

    it('start → live → paused → live → ended, with stream_events, URLs from templates, and the registry row', async () => {
      const res = await sendAction(ctx.app, slug, owner, 'start_stream', { title: 'Launch' })
      assert.equal(res.statusCode, 200, res.body)
      const started = json(res).result
      assert.equal(started.status, 'starting')
      assert.match(started.ingest_url, /^rtmp:\/\/ingest\.test\/live\/[\w-]{20,}$/)
      assert.equal(started.playback_url, `https://cdn.test/${slug}/${started.stream_id}.m3u8`)
      const id = started.stream_id as number

      for (const [action, data, status] of [
        ['stream.start', { stream_id: id }, 'live'],
        ['pause_stream', { stream_id: id }, 'paused'],
        ['stream.start', { stream_id: String(id) }, 'live'],
        ['stop_stream', { stream_id: id }, 'ended'],
      ] as const) {
        const r = await sendAction(ctx.app, slug, owner, action, data)
        assert.equal(r.statusCode, 200, r.body)
        assert.equal(json(r).result.status, status)
      }
      // Each step to the campaign (no owner named), and again to the owner's sockets (`mine`).
      const told = (scope: string) => events(id, 'status').filter((f) => f.audience.scope === scope)
      await until(() => told('campaign').length === 5 && told('user').length === 5, 'five status events')
      for (const scope of ['campaign', 'user']) {
        assert.deepEqual(
          told(scope).map((f) => f.frame.status),
          ['starting', 'live', 'paused', 'live', 'ended'],
        )
      }
      assert.deepEqual(told('campaign')[0]!.audience, { scope: 'campaign', campaign: slug })
      assert.ok(told('campaign').every((f) => !('owner_id' in f.frame) && !('mine' in f.frame)))
      assert.deepEqual(told('user')[0]!.audience, { scope: 'user', campaign: slug, user_id: 'user_owner' })
      assert.ok(told('user').every((f) => f.frame.mine === true))

      // The same record in the StreamSource registry.
      const reg = await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers: adminHeaders })
      assert.equal(reg.statusCode, 200)
      const stream = json(reg)
      assert.equal(stream.campaign.slug, slug)
      assert.equal(stream.campaign.live_status, 'ended')
      assert.equal(stream.status, 'offline')
      assert.equal(stream.link, started.playback_url)
      assert.ok(stream.last_live_at, 'going live set last_live_at')
      const list = json(await ctx.app.inject({ url: '/api/v1/streams?format=array', headers: adminHeaders }))
      assert.ok(list.some((s: any) => s.id === id))

      const again = await sendAction(ctx.app, slug, owner, 'stream.pause', { stream_id: id })
      assert.equal(again.statusCode, 409)
      assert.equal(json(again).error.code, 'INVALID_STREAM_STATE')
    })

    it('a stop racing a pause or a start always ends the stream: an ended stream never comes back', async () => {
      const ids: number[] = []
      for (let i = 0; i < 6; i++) {
        const id = json(await sendAction(ctx.app, slug, owner, 'stream.start', { title: `Race ${i}` })).result
          .stream_id
        await sendAction(ctx.app, slug, owner, 'stream.start', { stream_id: id })
        ids.push(id)
      }
      // Half pause while stopping (live → paused), half go live again while stopping (paused → live).
      for (const id of ids.slice(3)) await sendAction(ctx.app, slug, owner, 'stream.pause', { stream_id: id })
      const answers = await Promise.all(
        ids.flatMap((id, i) => [
          sendAction(ctx.app, slug, owner, 'stream.stop', { stream_id: id }),
          sendAction(ctx.app, slug, owner, i < 3 ? 'stream.pause' : 'stream.start', { stream_id: id }),
        ]),
      )
      for (const [i, res] of answers.entries()) {
        // The stop always goes through; the other step either went first or is refused as stale.
        if (i % 2 === 0) assert.equal(res.statusCode, 200, res.body)
        else if (res.statusCode !== 200) assert.equal(json(res).error.code, 'INVALID_STREAM_STATE', res.body)
      }
      for (const id of ids) {
        const row = json(await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers: adminHeaders }))
        assert.equal(row.campaign.live_status, 'ended', `stream ${id}`)
        assert.equal(row.status, 'offline', `stream ${id}`)
      }
    })

    it('only the owner or an admin controls a stream; guests cannot start; other campaigns cannot see it', async () => {
      const id = json(await sendAction(ctx.app, slug, owner, 'stream.start', { title: 'Mine' })).result
        .stream_id
      const denied = await sendAction(ctx.app, slug, intruder, 'stream.start', { stream_id: id })
      assert.equal(denied.statusCode, 403)
      const guest = await guestToken(ctx.app)
      assert.equal(
        (await sendAction(ctx.app, slug, guest.token, 'stream.start', { title: 'x' })).statusCode,
        403,
      )
      const admin = await userToken(ctx.app, 'user_admin', ['admin'])
      assert.equal(
        (await sendAction(ctx.app, slug, admin, 'stream.start', { stream_id: id })).statusCode,
        200,
      )
      const otherSlug = await createCampaign(ctx.app)
      const missing = await sendAction(ctx.app, otherSlug, owner, 'stream.stop', { stream_id: id })
      assert.equal(missing.statusCode, 404)
      assert.equal(json(missing).error.code, 'STREAM_NOT_FOUND')
      const noFeature = await createCampaign(ctx.app, { features: ['presence'] })
      assert.equal((await sendAction(ctx.app, noFeature, owner, 'stream.start', {})).statusCode, 403)
      assert.equal(
        (await sendAction(ctx.app, slug, owner, 'stream.stop', { stream_id: 'abc' })).statusCode,
        400,
      )
      // The title becomes the registry's: an ESC sequence or a line break is refused there, and here.
      for (const title of ['Launch\u001b]0;owned\u0007', 'two\nlines']) {
        const bad = await sendAction(ctx.app, slug, owner, 'stream.start', { title })
        assert.equal(bad.statusCode, 400, bad.body)
        assert.equal(json(bad).error.code, 'VALIDATION_FAILED')
      }
    })

    it('chat: plain text (HTML never interpreted), length limit, per-user rate limit, only while live', async () => {
      const id = json(await sendAction(ctx.app, slug, owner, 'stream.start', { title: 'Chat' })).result
        .stream_id
      const viewer = await guestToken(ctx.app)
      const early = await sendAction(ctx.app, slug, viewer.token, 'stream.chat', {
        stream_id: id,
        text: 'hi',
      })
      assert.equal(json(early).error.code, 'STREAM_NOT_LIVE')
      await sendAction(ctx.app, slug, owner, 'stream.start', { stream_id: id })

      const html = '<b>hi</b> & "x"'
      const sent = await sendAction(ctx.app, slug, viewer.token, 'stream.chat', { stream_id: id, text: html })
      assert.equal(sent.statusCode, 200, sent.body)
      await until(() => events(id, 'chat').length === 1, 'chat event')
      const chat = events(id, 'chat')[0]!.frame
      assert.equal(chat.text, html, 'text is sent verbatim as plain text')
      assert.equal(chat.text_html, '&lt;b&gt;hi&lt;/b&gt; &amp; &quot;x&quot;')
      assert.equal(chat.user_id, 'guest')

      const long = await sendAction(ctx.app, slug, viewer.token, 'stream.chat', {
        stream_id: id,
        text: 'x'.repeat(21),
      })
      assert.equal(long.statusCode, 422)
      assert.equal(json(long).error.code, 'CHAT_TOO_LONG')
      const blank = await sendAction(ctx.app, slug, viewer.token, 'stream.chat', {
        stream_id: id,
        text: ' \u0001 ',
      })
      assert.equal(json(blank).error.code, 'CHAT_EMPTY')
      // C1 controls (\u009b is a one-character CSI) go like the C0 ones.
      await sendAction(ctx.app, slug, viewer.token, 'stream.chat', {
        stream_id: id,
        text: 't\u009b31mwo\u0085',
      })
      await until(() => events(id, 'chat').length === 2, 'second chat event')
      assert.equal(events(id, 'chat')[1]!.frame.text, 't31mwo')
      await sendAction(ctx.app, slug, viewer.token, 'stream.chat', { stream_id: id, text: 'three' })
      const limited = await sendAction(ctx.app, slug, viewer.token, 'stream.chat', {
        stream_id: id,
        text: 'four',
      })
      assert.equal(limited.statusCode, 429)
      assert.equal(json(limited).error.code, 'CHAT_RATE_LIMITED')
      // Another user still may.
      const other = await guestToken(ctx.app)
      assert.equal(
        (await sendAction(ctx.app, slug, other.token, 'stream.chat', { stream_id: id, text: 'ok' }))
          .statusCode,
        200,
      )
    })

    it('viewers: stream_join / stream_leave / close through the inbound handlers, published every tick while live', async () => {
      const id = json(await sendAction(ctx.app, slug, owner, 'stream.start', { title: 'Viewers' })).result
        .stream_id
      await sendAction(ctx.app, slug, owner, 'stream.start', { stream_id: id })
      const join = ctx.app.inbound.get('stream_join')!
      const leave = ctx.app.inbound.get('stream_leave')!
      await join(socket(slug, 'c1'), { type: 'stream_join', stream_id: id })
      await join(socket(slug, 'c2'), { type: 'stream_join', stream_id: id })
      await join(socket(slug, 'c2'), { type: 'stream_join', stream_id: id }) // the same socket counts once
      await join(socket(slug, 'c3'), { type: 'stream_join', stream_id: id })
      const latest = () => events(id, 'viewers').at(-1)?.frame.viewers
      await until(() => latest() === 3, 'three viewers')
      await leave(socket(slug, 'c1'), { type: 'stream_leave', stream_id: id })
      await ctx.app.inbound.closed(socket(slug, 'c3'))
      await until(() => latest() === 1, 'one viewer')
      await assert.rejects(
        async () => join(socket(await createCampaign(ctx.app), 'c9'), { type: 'stream_join', stream_id: id }),
        (e: any) => e.code === 'STREAM_NOT_FOUND',
      )
      await sendAction(ctx.app, slug, owner, 'stream.stop', { stream_id: id })
      await new Promise((r) => setTimeout(r, 1500))
      const count = events(id, 'viewers').length
      await new Promise((r) => setTimeout(r, 1500))
      assert.equal(events(id, 'viewers').length, count, 'no viewer ticks once ended')
    })
  })
}
