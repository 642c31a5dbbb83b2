import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import sharp from 'sharp'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  listenLocally,
  type TestContext,
} from './helper.js'
import { createStorage } from '../src/modules/media/index.js'
import { mediaRow, standaloneMedia, uploadTicket } from './media-fixtures.js'
import { type S3Server, s3StorageEnv, startS3Server } from './s3-server.js'

/** A small PNG of one colour: sniffed as image/png, given a thumbnail. */
const picture = () =>
  sharp({ create: { width: 40, height: 30, channels: 3, background: '#36a' } })
    .png()
    .toBuffer()
/** A small MP4 (`ftyp` and an empty `moov`): walked for location boxes, no thumbnail. */
const MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 24]),
  Buffer.from('ftypisom'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isomiso2'),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from('moov'),
  Buffer.alloc(64, 0),
])

/** The calls of one app that upload and delete media, as the session `auth` of campaign `slug`. */
function client(ctx: TestContext, base: string, slug: string) {
  return {
    async ticket(auth: Record<string, string>, bytes: Buffer, filename: string, type: string) {
      const t = await uploadTicket(ctx.app, slug, auth, { filename, content_type: type, size: bytes.length })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return { id: t.body.result.media_id as string, url: base + t.body.result.upload_url }
    },
    async put(url: string, bytes: Buffer) {
      const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes) })
      return { status: res.status, body: await res.json() }
    },
    remove: (auth: Record<string, string>, id: string) =>
      ctx.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}/media/${id}`, headers: auth }),
  }
}

for (const dialect of DIALECTS) {
  describe(`media QA 27, who may delete (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let slug: string
    let media: ReturnType<typeof client>

    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      slug = await createCampaign(ctx.app)
      media = client(ctx, base, slug)
    })
    after(async () => ctx?.close())

    it('refuses a file name with a bidirectional override, a C1 control or a line separator, as display names', async () => {
      const auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
      // `invoice\u202Efdp.exe` shows as "invoiceexe.pdf" in the media list and the download.
      for (const filename of [
        'invoice\u202Efdp.exe',
        'a\u2066b\u2069.png',
        'a\u202Ab.png',
        'a\u0085b.png',
        'a\u009Bb.png',
        'one\u2028two.png',
      ]) {
        const t = await uploadTicket(ctx.app, slug, auth, { filename, content_type: 'image/png' })
        assert.equal(t.status, 400, JSON.stringify(filename))
        assert.equal(t.body.error.code, 'INVALID_FILENAME', JSON.stringify(filename))
      }
      // Names in any script, with marks and joiners as people write them, still pass.
      for (const filename of ['Fotoğraf çekimi.png', 'صورة.png', '写真 (1).png', '👩‍👩‍👧.png', 'é.png']) {
        const t = await uploadTicket(ctx.app, slug, auth, { filename, content_type: 'image/png' })
        assert.equal(t.status, 200, `${filename}: ${JSON.stringify(t.body)}`)
      }
    })

    it('lets a visitor who joined delete what they uploaded as a guest before, as they can read it', async () => {
      const guest = await guestToken(ctx.app)
      const asGuest = { authorization: `Bearer ${guest.token}` }
      const bytes = await picture()
      const { id, url } = await media.ticket(asGuest, bytes, 'before-joining.png', 'image/png')
      assert.equal((await media.put(url, bytes)).status, 200)
      // Someone else's guest session may not.
      const other = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
      assert.equal((await media.remove(other, id)).statusCode, 403)

      const joined = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: asGuest,
        payload: { campaign: slug, email: `joined.${Date.now()}@example.org`, name: 'Joined' },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const asMember = { authorization: `Bearer ${json(joined).token}` }
      // Their upload, by the session it came from: they read it…
      const own = await ctx.app.inject({ method: 'GET', url: `/api/media/${id}`, headers: asMember })
      assert.equal(own.statusCode, 200, own.body)
      // …and may take it down.
      const removed = await media.remove(asMember, id)
      assert.equal(removed.statusCode, 204, removed.body)
      assert.equal((await fetch(`${base}/media/${id}`)).status, 404)
    })
  })

  describe(`media QA 27, S3 failing while an upload is processed or deleted (${dialect})`, () => {
    let s3: S3Server
    let ctx: TestContext
    let base: string
    let media: ReturnType<typeof client>
    let auth: Record<string, string>

    before(async () => {
      s3 = await startS3Server('test-secret')
      ctx = await buildTestApp({ dialect, env: s3StorageEnv(s3) })
      base = await listenLocally(ctx.app)
      media = client(ctx, base, await createCampaign(ctx.app))
      auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
    })
    afterEach(() => {
      s3.intercept = undefined
    })
    after(async () => {
      await ctx?.close()
      await s3?.close()
    })

    const objectsOf = (id: string) => [...s3.objects.keys()].filter((key) => key.includes(id))

    /** Uploads `bytes` while the bucket fails the calls `failing` picks; answers the PUT's answer. */
    async function uploadWhileFailing(
      bytes: Buffer,
      filename: string,
      type: string,
      failing: (action: string, path: string) => boolean,
    ) {
      const { id, url } = await media.ticket(auth, bytes, filename, type)
      s3.intercept = ({ action, path }) => (path.includes(id) && failing(action, path) ? 'fail' : undefined)
      const answer = await media.put(url, bytes)
      s3.intercept = undefined
      return { id, answer, row: await mediaRow(ctx.app.platform.database.db, id) }
    }

    /** The upload failed as the storage's doing: 503, `storage_error`, nothing left in the bucket. */
    function assertStorageFailed(r: Awaited<ReturnType<typeof uploadWhileFailing>>, what: string) {
      assert.equal(r.answer.status, 503, `${what}: ${JSON.stringify(r.answer.body)}`)
      assert.equal(r.answer.body.error.code, 'STORAGE_UNAVAILABLE', what)
      assert.equal(r.row.status, 'failed', what)
      assert.equal(r.row.failure_reason, 'storage_error', what)
      assert.deepEqual(objectsOf(r.id), [], what)
    }

    it('fails an upload whose thumbnail the bucket refuses with 503 storage_error, not a 500', async () => {
      const r = await uploadWhileFailing(
        await picture(),
        'thumb.png',
        'image/png',
        (action, path) => action === 'PutObject' && path.endsWith('thumbnail.webp'),
      )
      assertStorageFailed(r, 'thumbnail refused')
    })

    it('fails an upload the bucket cannot read back with 503 storage_error, not "the image could not be decoded"', async () => {
      const r = await uploadWhileFailing(
        await picture(),
        'unreadable.png',
        'image/png',
        (action) => action === 'GetObject',
      )
      assertStorageFailed(r, 'image read back')
    })

    it('fails a recording the bucket cannot read back for its location with 503 storage_error', async () => {
      const r = await uploadWhileFailing(MP4, 'clip.mp4', 'video/mp4', (action) => action === 'GetObject')
      assertStorageFailed(r, 'recording read back')
    })

    it('removes on the next sweep what it could not remove when it failed an upload (the bucket down)', async () => {
      const r = await uploadWhileFailing(
        await picture(),
        'outage.png',
        'image/png',
        (action, path) =>
          (action === 'PutObject' && path.endsWith('thumbnail.webp')) || action === 'DeleteObject',
      )
      assert.equal(r.answer.status, 503, JSON.stringify(r.answer.body))
      assert.equal(r.row.status, 'failed')
      assert.equal(r.row.failure_reason, 'storage_error')
      // The bucket would not let the original go: it stays there, but not for good.
      assert.notDeepEqual(objectsOf(r.id), [])
      // Another node's sweep (same database and bucket) finds it, once.
      const sweeper = standaloneMedia(ctx, join(tmpdir(), 'unused'), {
        storage: await createStorage(ctx.config),
      })
      assert.equal((await sweeper.sweep()).leftovers, 1)
      assert.deepEqual(objectsOf(r.id), [])
      assert.equal((await sweeper.sweep()).leftovers, 0)
      const row = await mediaRow(ctx.app.platform.database.db, r.id)
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'storage_error')
    })

    it('answers a delete the bucket refuses with 503 STORAGE_UNAVAILABLE, keeping the media for a retry', async () => {
      const bytes = await picture()
      const { id, url } = await media.ticket(auth, bytes, 'keep.png', 'image/png')
      assert.equal((await media.put(url, bytes)).status, 200)
      s3.intercept = ({ action, path }) =>
        action === 'DeleteObject' && path.includes(id) ? 'fail' : undefined
      const refused = await media.remove(auth, id)
      assert.equal(refused.statusCode, 503, refused.body)
      assert.equal(json(refused).error.code, 'STORAGE_UNAVAILABLE')
      assert.equal((await mediaRow(ctx.app.platform.database.db, id)).status, 'ready')
      s3.intercept = undefined
      assert.equal((await media.remove(auth, id)).statusCode, 204)
      assert.deepEqual(objectsOf(id), [])
    })
  })
}
