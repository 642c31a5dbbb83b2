// `GET /api/media/{id}`: an upload's uploader reads where it stands (how the page catches up after
// `resync_required`); nobody else learns that it exists.
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  adminHeaders,
  buildTestApp,
  captureFrames,
  createCampaign,
  DIALECTS,
  guestToken,
  joinWithPassword,
  json,
  logInElsewhere,
  type TestContext,
  sendAction,
  listenLocally,
} from './helper.js'
import { waitFor } from './wait-for.js'

for (const dialect of DIALECTS) {
  describe(`an upload read by its uploader (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let slug: string
    let png: Buffer
    const events: RealtimeMessage[] = []
    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      slug = await createCampaign(ctx.app)
      await captureFrames(ctx.app, (m) => {
        if (m.frame.type === 'media_event') events.push(m)
      })
      png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c33' } })
        .png()
        .toBuffer()
    })
    after(() => ctx.close())

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const ticket = async (token: string, content_type = 'image/png') => {
      const res = await sendAction(ctx.app, slug, token, 'media.upload', {
        filename: 'dot.png',
        content_type,
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result as { media_id: string; upload_url: string }
    }
    const upload = async (token: string, body: Buffer = png, type?: string) => {
      const t = await ticket(token, type)
      const res = await fetch(base + t.upload_url, { method: 'PUT', body: new Uint8Array(body) })
      return { id: t.media_id, status: res.status, body: await res.json() }
    }
    const read = (id: string, headers: Record<string, string> = {}) =>
      ctx.app.inject({ method: 'GET', url: `/api/media/${id}`, headers })
    const db = () => ctx.app.platform.database.db

    it('answers the session that uploaded it: pending, uploading, then ready with its URLs', async () => {
      const { token } = await guestToken(ctx.app)
      const t = await ticket(token)
      const pending = await read(t.media_id, bearer(token))
      assert.equal(pending.statusCode, 200, pending.body)
      assert.deepEqual(json(pending), {
        media_id: t.media_id,
        campaign: slug,
        status: 'pending',
        content_type: 'image/png',
        updated_at: json(pending).updated_at,
      })
      assert.ok(!Number.isNaN(Date.parse(json(pending).updated_at)))

      // Half the bytes, then the upload waits: it is `uploading`.
      const u = new URL(base + t.upload_url)
      const put = httpRequest({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PUT',
        headers: { 'content-type': 'image/png', 'content-length': png.length },
      })
      const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
        put.on('response', (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }),
          )
        })
        put.on('error', reject)
      })
      put.write(png.subarray(0, png.length >> 1))
      await waitFor(
        () => events.some((e) => e.frame.media_id === t.media_id && e.frame.status === 'uploading'),
        'the uploading event',
      )
      const uploading = await read(t.media_id, bearer(token))
      assert.equal(uploading.statusCode, 200, uploading.body)
      assert.equal(json(uploading).status, 'uploading')
      assert.equal(json(uploading).url, undefined)
      put.end(png.subarray(png.length >> 1))
      const done = await answered
      assert.equal(done.status, 200, JSON.stringify(done.body))
      assert.equal(done.body.status, 'ready')

      const ready = await read(t.media_id, bearer(token))
      assert.equal(ready.statusCode, 200, ready.body)
      const view = json(ready)
      assert.deepEqual(Object.keys(view).sort(), [
        'campaign',
        'content_type',
        'media_id',
        'size',
        'status',
        'thumbnail_url',
        'updated_at',
        'url',
      ])
      assert.equal(view.status, 'ready')
      assert.equal(view.content_type, 'image/png')
      assert.equal(view.size, done.body.size)
      // What the `ready` event told the uploader.
      const frame = events.find((e) => e.frame.media_id === t.media_id && e.frame.status === 'ready')!.frame
      assert.equal(view.url, frame.url)
      assert.equal(view.thumbnail_url, frame.thumbnail_url)
      assert.equal(view.url, `/media/${t.media_id}`)
      assert.ok(Date.parse(view.updated_at) >= Date.parse(json(pending).updated_at))
    })

    it('tells the uploader an upload is still processing, without URLs or size', async () => {
      const { token } = await guestToken(ctx.app)
      const t = await ticket(token)
      // As a node mid-processing leaves the row: every byte arrived, the thumbnail not yet made.
      await db()
        .updateTable('service_media_main')
        .set({
          status: 'processing',
          upload_used_at: new Date(),
          size_bytes: png.length,
          content_type: 'image/png',
        })
        .where('id', '=', t.media_id)
        .execute()
      const res = await read(t.media_id, bearer(token))
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(Object.keys(json(res)).sort(), [
        'campaign',
        'content_type',
        'media_id',
        'status',
        'updated_at',
      ])
      assert.equal(json(res).status, 'processing')
    })

    it('tells the uploader an upload failed, and why, as its failed event did', async () => {
      const { token } = await guestToken(ctx.app)
      // A PNG declared as a JPEG: its bytes say otherwise.
      const up = await upload(token, png, 'image/jpeg')
      assert.equal(up.status, 415, JSON.stringify(up.body))
      const res = await read(up.id, bearer(token))
      assert.equal(res.statusCode, 200, res.body)
      const view = json(res)
      assert.equal(view.status, 'failed')
      assert.equal(view.reason, 'type_mismatch')
      const frame = events.find((e) => e.frame.media_id === up.id && e.frame.status === 'failed')?.frame
      assert.equal(view.reason, frame?.reason)
      assert.equal(view.url, undefined)
      assert.equal(view.thumbnail_url, undefined)
      assert.equal(view.size, undefined)
    })

    it('is a media that does not exist for anyone else, nor once deleted', async () => {
      const { token } = await guestToken(ctx.app)
      const up = await upload(token)
      assert.equal(up.status, 200, JSON.stringify(up.body))
      const other = await guestToken(ctx.app)
      const res = await read(up.id, bearer(other.token))
      assert.equal(res.statusCode, 404, res.body)
      assert.equal(json(res).error.code, 'MEDIA_NOT_FOUND')
      // Editors have their list; this route is the uploader's alone.
      const admin = await read(up.id, adminHeaders)
      assert.equal(admin.statusCode, 404, admin.body)
      // The same answer as for an id no media has: nothing tells the two apart.
      const missing = await read('01ARZ3NDEKTSV4RRFFQ69G5FAV', bearer(other.token))
      assert.equal(missing.statusCode, 404)
      assert.deepEqual(json(missing).error.code, json(res).error.code)
      assert.deepEqual(json(missing).error.message, json(res).error.message)

      const deleted = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/media/${up.id}`,
        headers: bearer(token),
      })
      assert.equal(deleted.statusCode, 204, deleted.body)
      const gone = await read(up.id, bearer(token))
      assert.equal(gone.statusCode, 404, gone.body)
      assert.equal(json(gone).error.code, 'MEDIA_NOT_FOUND')
    })

    it('refuses an id that is no media id, and a caller without a token', async () => {
      const { token } = await guestToken(ctx.app)
      for (const bad of [
        '42',
        '01arz3ndektsv4rrffq69g5fav',
        `0${'A'.repeat(26)}`,
        '01ARZ3NDEKTSV4RRFFQ69G5FAI',
        "01ARZ3NDEKTSV4RRFFQ69G5FA'",
      ]) {
        const res = await read(encodeURIComponent(bad), bearer(token))
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
      const up = await upload(token)
      assert.equal((await read(up.id)).statusCode, 401)
      assert.equal((await read(up.id, bearer('not-a-token'))).statusCode, 401)
    })

    it('answers the user who uploaded it, from another session too', async () => {
      const grace = await joinWithPassword(ctx.app, slug)
      const up = await upload(grace.token)
      assert.equal(up.status, 200, JSON.stringify(up.body))
      // The same person on another device: a new session, the same user.
      const elsewhere = await logInElsewhere(ctx.app, slug, grace)
      const res = await read(up.id, bearer(elsewhere.token))
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).status, 'ready')
      assert.equal(json(res).url, `/media/${up.id}`)
      // That other device's guest session, before it logged in, was someone else.
      assert.equal((await read(up.id, bearer(elsewhere.guest))).statusCode, 404)
    })
  })
}
