import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { createDiskStorage } from '../src/modules/media/disk.storage.js'
import { usage } from '../src/modules/media/media.repo.js'
import type { MediaService } from '../src/modules/media/media.service.js'
import type { StorageAdapter } from '../src/modules/media/storage.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { Principal } from '../src/platform/auth/principal.js'
import { buildTestApp, DIALECTS, type TestContext, uniqueSlug } from './helper.js'
import { filesUnder, reserveUpload, standaloneMedia, uploadServer } from './media-fixtures.js'
import { waitUntil } from './realtime/client.js'

/**
 * A media deleted while its upload is being processed: the service over a disk storage whose
 * calls the test holds at chosen points, so each interleaving happens every run.
 */

/** A promise and its resolver. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  return { open, opened }
}

/** The storage calls a test may hold: each hook runs before the real call. */
interface Hooks {
  read?: (key: string) => Promise<void>
  open?: (key: string) => Promise<void>
  remove?: (key: string, real: () => Promise<void>) => Promise<void>
}

function hookedStorage(inner: StorageAdapter, hooks: { current: Hooks }): StorageAdapter {
  return {
    kind: inner.kind,
    async open(key, type) {
      await hooks.current.open?.(key)
      return inner.open(key, type)
    },
    async read(key, range) {
      await hooks.current.read?.(key)
      return inner.read(key, range)
    },
    size: (key) => inner.size(key),
    async remove(key) {
      const real = () => inner.remove(key)
      if (hooks.current.remove) return hooks.current.remove(key, real)
      return real()
    },
  }
}

const editor: Principal = { kind: 'apikey', user_id: 'admin', session_id: 'admin', roles: ['admin'] }
const uploader: Principal = { kind: 'session', user_id: 'guest', session_id: 'sess_race', roles: ['guest'] }

for (const dialect of DIALECTS) {
  describe(`media deleted during processing (${dialect})`, () => {
    let ctx: TestContext
    let media: MediaService
    let dir: string
    let server: Awaited<ReturnType<typeof uploadServer>>
    let png: Buffer
    let photo: Buffer
    const hooks: { current: Hooks } = { current: {} }
    const slug = uniqueSlug('race')
    const campaign = { slug, metadata: {} } as unknown as Campaign

    before(async () => {
      ctx = await buildTestApp({ dialect })
      dir = join(ctx.config.DATA_DIR, 'race-media')
      media = standaloneMedia(ctx, dir, {
        storage: hookedStorage(createDiskStorage(dir), hooks),
        campaigns: { find: async (s) => (s === slug ? campaign : undefined) },
      })
      server = await uploadServer(media)
      png = await sharp(randomBytes(400 * 300 * 3), { raw: { width: 400, height: 300, channels: 3 } })
        .png()
        .toBuffer()
      // Coarse, with a GPS position: published without it, at a finer quality, it grows.
      photo = await sharp(randomBytes(96 * 96 * 3), { raw: { width: 96, height: 96, channels: 3 } })
        .jpeg({ quality: 20 })
        .withExifMerge({ IFD3: { GPSMapDatum: 'WGS-84' } })
        .toBuffer()
    })
    after(async () => {
      await server.close()
      await ctx.close()
    })

    /** An upload URL, committed as `media.upload` commits it. */
    async function upload(type = 'image/png') {
      const filename = type === 'image/png' ? 'a.png' : 'a.jpg'
      const db = ctx.app.platform.database.db
      return reserveUpload(db, media, server.base, campaign, uploader, { filename, content_type: type })
    }
    const status = async (id: string) =>
      (
        await ctx.app.platform.database.db
          .selectFrom('service_media_main')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirst()
      )?.status
    /** The answer to a PUT, or a note that none came (a request hung for good). */
    async function answered(res: Promise<Response>) {
      const none = new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), 10_000).unref())
      const got = await Promise.race([res, none])
      assert.notEqual(got, 'no answer', 'the upload was answered')
      const r = got as Response
      return { status: r.status, body: await r.json() }
    }
    /** The thumbnail's write, held: `writing` opens when it starts, and it goes on once `release` opens. */
    function holdThumbnail() {
      const writing = gate()
      const release = gate()
      const open = async (key: string) => {
        if (!key.endsWith('thumbnail.webp')) return
        writing.open()
        await release.opened
      }
      return { writing, release, open }
    }
    /** Ends the test's holds: the held write goes on, and `id` becomes ready. */
    async function releaseUntilReady(id: string, release: ReturnType<typeof gate>) {
      hooks.current = {}
      release.open()
      await waitUntil(async () => (await status(id)) === 'ready', 10_000, `${id} ready`)
    }
    /** Neither the row nor any file of media `id` is left. */
    async function assertGone(id: string) {
      assert.equal(await status(id), undefined)
      assert.deepEqual(filesUnder(join(dir, slug, id)), [])
    }

    it('answers 404 and keeps nothing when deleted before its thumbnail is read', async () => {
      const { id, url } = await upload()
      const reading = gate()
      const deleted = gate()
      hooks.current = {
        async read() {
          reading.open()
          await deleted.opened
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(png) })
        await reading.opened
        assert.equal(await status(id), 'processing')
        await media.remove(slug, id, editor)
        deleted.open()
        const res = await answered(put)
        assert.equal(res.status, 404, JSON.stringify(res.body))
        assert.equal(res.body.code, 'MEDIA_NOT_FOUND')
        assert.deepEqual(filesUnder(join(dir, slug, id)), [])
      } finally {
        hooks.current = {}
        deleted.open()
      }
    })

    it('keeps no thumbnail of a media deleted while it is being written', async () => {
      const { id, url } = await upload()
      const { writing, release, open } = holdThumbnail()
      hooks.current = {
        open,
        // The deletion's first removal lets the thumbnail be written and the upload become
        // ready before the deletion goes on.
        async remove(_key, real) {
          await real()
          if (hooks.current.remove === undefined) return
          await releaseUntilReady(id, release)
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(png) })
        await writing.opened
        assert.equal(await status(id), 'processing')
        await media.remove(slug, id, editor)
        assert.equal((await answered(put)).status, 200)
        await assertGone(id)
      } finally {
        hooks.current = {}
        release.open()
      }
    })

    it('keeps no thumbnail written after the deletion removed the bytes, before the row went', async () => {
      const { id, url } = await upload()
      const { writing, release, open } = holdThumbnail()
      hooks.current = {
        open,
        // Once the deletion has removed every file, the thumbnail is written and the upload
        // becomes ready; then the deletion removes the row.
        async remove(key, real) {
          await real()
          if (!key.endsWith('thumbnail.webp') || hooks.current.remove === undefined) return
          await releaseUntilReady(id, release)
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(png) })
        await writing.opened
        await media.remove(slug, id, editor)
        // A deletion that never removed the thumbnail's key let the upload go on after it.
        release.open()
        await answered(put)
        await assertGone(id)
      } finally {
        hooks.current = {}
        release.open()
      }
    })

    it('counts a photo at its published size while its thumbnail is written, once it took more room', async () => {
      const { id, url } = await upload('image/jpeg')
      const db = ctx.app.platform.database.db
      // Its URL reserved the file as uploaded: published with its thumbnail, it needs more.
      await db
        .updateTable('service_media_main')
        .set({ max_bytes: photo.length + 100 })
        .where('id', '=', id)
        .execute()
      const { writing, release, open } = holdThumbnail()
      hooks.current = { open }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(photo) })
        await writing.opened
        const scope = { session_id: uploader.session_id }
        const now = new Date()
        const held =
          (await usage(db, scope, now, new Date(0))) - (await usage(db, scope, now, new Date(0), id))
        hooks.current = {}
        release.open()
        const res = await answered(put)
        assert.equal(res.status, 200, JSON.stringify(res.body))
        assert.notEqual(res.body.size, photo.length)
        const thumbnail = (await createDiskStorage(dir).size(`${slug}/${id}/thumbnail.webp`))!
        // Before its files were written, what they hold was counted: nobody else could take it.
        assert.equal(held, res.body.size + thumbnail)
        assert.equal(
          (await usage(db, scope, new Date(), new Date(0))) -
            (await usage(db, scope, new Date(), new Date(0), id)),
          res.body.size + thumbnail,
        )
      } finally {
        hooks.current = {}
        release.open()
      }
    })

    it('keeps no original published without its metadata after the media was deleted', async () => {
      const { id, url } = await upload('image/jpeg')
      const writing = gate()
      const release = gate()
      let originals = 0
      hooks.current = {
        // The first write of the original is the upload; the second, its copy without metadata.
        async open(key) {
          if (!key.endsWith('/original') || ++originals < 2) return
          writing.open()
          await release.opened
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(photo) })
        const first = await Promise.race([writing.opened.then(() => 'writing'), put.then(() => 'answered')])
        assert.equal(first, 'writing', 'the original was written again, without its metadata')
        assert.equal(await status(id), 'processing')
        await media.remove(slug, id, editor)
        release.open()
        const res = await answered(put)
        assert.equal(res.status, 404, JSON.stringify(res.body))
        await assertGone(id)
      } finally {
        hooks.current = {}
        release.open()
      }
    })
  })
}
