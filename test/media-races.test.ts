import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { createDiskStorage } from '../src/modules/media/disk.storage.js'
import { usage } from '../src/modules/media/media.repo.js'
import { createMediaService, type MediaService } from '../src/modules/media/media.service.js'
import { createUploadSigner } from '../src/modules/media/signing.js'
import type { StorageAdapter } from '../src/modules/media/storage.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { Principal } from '../src/platform/auth/principal.js'
import { buildTestApp, DIALECTS, JWT_SECRET, type TestContext, uniqueSlug } from './helper.js'

/**
 * A media deleted while its upload is being processed: the service over a disk storage whose
 * calls the test holds at chosen points, so each interleaving happens every run.
 */

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
}

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
    let server: http.Server
    let base: string
    let png: Buffer
    let photo: Buffer
    const hooks: { current: Hooks } = { current: {} }
    const slug = uniqueSlug('race')
    const campaign = { slug, metadata: {} } as unknown as Campaign

    before(async () => {
      ctx = await buildTestApp({ dialect })
      dir = join(ctx.config.DATA_DIR, 'race-media')
      media = createMediaService({
        db: ctx.app.platform.database.db,
        storage: hookedStorage(createDiskStorage(dir), hooks),
        signer: createUploadSigner(JWT_SECRET),
        publisher: { publish: async () => {} },
        campaigns: { find: async (s) => (s === slug ? campaign : undefined) },
        config: ctx.config,
      })
      server = http.createServer((req, res) => {
        const token = req.url!.split('/').at(-1)!
        media.receive(token, req).then(
          (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
          (err) =>
            res
              .writeHead(err.statusCode ?? 500, { 'content-type': 'application/json' })
              .end(JSON.stringify({ code: err.code, message: err.message })),
        )
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
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
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
      await ctx.close()
    })

    /** An upload URL, committed as `media.upload` commits it. */
    async function upload(type = 'image/png') {
      const reservation = await media.prepare(campaign, uploader, {
        filename: type === 'image/png' ? 'a.png' : 'a.jpg',
        content_type: type,
      })
      await ctx.app.platform.database.db
        .transaction()
        .execute((trx) => media.reservations.write(trx, [reservation], { counterShard: 0 }))
      const { media_id, upload_url } = reservation.ticket
      return { id: media_id, url: base + upload_url.replace(/^.*\/media\/upload\//, '/upload/') }
    }
    const status = async (id: string) =>
      (
        await ctx.app.platform.database.db
          .selectFrom('service_media_main')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirst()
      )?.status
    async function until(check: () => Promise<boolean>, what: string) {
      for (let i = 0; !(await check()); i++) {
        if (i > 500) throw new Error(`never: ${what}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    /** The answer to a PUT, or a note that none came (a request hung for good). */
    async function answered(res: Promise<Response>) {
      const none = new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), 10_000).unref())
      const got = await Promise.race([res, none])
      assert.notEqual(got, 'no answer', 'the upload was answered')
      const r = got as Response
      return { status: r.status, body: await r.json() }
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
      const writing = gate()
      const release = gate()
      hooks.current = {
        async open(key) {
          if (!key.endsWith('thumbnail.webp')) return
          writing.open()
          await release.opened
        },
        // The deletion's first removal lets the thumbnail be written and the upload become
        // ready before the deletion goes on.
        async remove(_key, real) {
          await real()
          if (hooks.current.remove === undefined) return
          hooks.current = {}
          release.open()
          await until(async () => (await status(id)) === 'ready', `${id} ready`)
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(png) })
        await writing.opened
        assert.equal(await status(id), 'processing')
        await media.remove(slug, id, editor)
        assert.equal((await answered(put)).status, 200)
        assert.equal(await status(id), undefined)
        assert.deepEqual(filesUnder(join(dir, slug, id)), [])
      } finally {
        hooks.current = {}
        release.open()
      }
    })

    it('keeps no thumbnail written after the deletion removed the bytes, before the row went', async () => {
      const { id, url } = await upload()
      const writing = gate()
      const release = gate()
      hooks.current = {
        async open(key) {
          if (!key.endsWith('thumbnail.webp')) return
          writing.open()
          await release.opened
        },
        // Once the deletion has removed every file, the thumbnail is written and the upload
        // becomes ready; then the deletion removes the row.
        async remove(key, real) {
          await real()
          if (!key.endsWith('thumbnail.webp') || hooks.current.remove === undefined) return
          hooks.current = {}
          release.open()
          await until(async () => (await status(id)) === 'ready', `${id} ready`)
        },
      }
      try {
        const put = fetch(url, { method: 'PUT', body: new Uint8Array(png) })
        await writing.opened
        await media.remove(slug, id, editor)
        // A deletion that never removed the thumbnail's key let the upload go on after it.
        release.open()
        await answered(put)
        assert.equal(await status(id), undefined)
        assert.deepEqual(filesUnder(join(dir, slug, id)), [])
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
      const writing = gate()
      const release = gate()
      hooks.current = {
        async open(key) {
          if (!key.endsWith('thumbnail.webp')) return
          writing.open()
          await release.opened
        },
      }
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
        assert.equal(await status(id), undefined)
        assert.deepEqual(filesUnder(join(dir, slug, id)), [])
      } finally {
        hooks.current = {}
        release.open()
      }
    })
  })
}
