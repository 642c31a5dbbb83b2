import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ulid } from 'ulid'
import { createDiskStorage, PARTIAL_DIR } from '../src/modules/media/disk.storage.js'
import { IN_FLIGHT_GRACE_MS } from '../src/modules/media/media.quota.js'
import type { MediaService } from '../src/modules/media/media.service.js'
import { buildTestApp, DIALECTS, type TestContext, uniqueSlug } from './helper.js'
import { standaloneMedia } from './media-fixtures.js'

/** The upload URL lifetime these tests run with (the default). */
const TTL_SECONDS = 900

/** A `.part` file as a write to `key` leaves it, last written `ageSeconds` ago. */
function plant(mediaDir: string, key: string, ageSeconds: number): string {
  const dir = join(mediaDir, PARTIAL_DIR)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${encodeURIComponent(key)}.${ulid()}.part`)
  writeFileSync(path, 'half an upload')
  const at = new Date(Date.now() - ageSeconds * 1000)
  utimesSync(path, at, at)
  return path
}

for (const dialect of DIALECTS) {
  describe(`files of interrupted uploads (${dialect})`, () => {
    it('go when the server starts: older than an upload URL lives, of no upload in progress', async () => {
      const mediaDir = mkdtempSync(join(tmpdir(), 'ovasabi-sweep-'))
      // As a crash leaves them: the row went, or never said `uploading` on this database.
      const old = plant(mediaDir, `c1/${ulid()}/original`, 2 * TTL_SECONDS)
      const oldThumb = plant(mediaDir, `c1/${ulid()}/thumbnail.webp`, TTL_SECONDS + 60)
      const recent = plant(mediaDir, `c1/${ulid()}/original`, 60)
      const ctx = await buildTestApp({ dialect, env: { MEDIA_DIR: mediaDir } })
      try {
        assert.equal(existsSync(old), false)
        assert.equal(existsSync(oldThumb), false)
        assert.equal(existsSync(recent), true, 'a write this recent may still be going on')
      } finally {
        await ctx.close()
        rmSync(mediaDir, { recursive: true, force: true })
      }
    })

    describe('while their upload is in progress', () => {
      let ctx: TestContext
      let media: MediaService
      let mediaDir: string
      const slug = uniqueSlug('sweep')

      before(async () => {
        ctx = await buildTestApp({ dialect })
        mediaDir = join(ctx.config.DATA_DIR, 'sweep-media')
        media = standaloneMedia(ctx, mediaDir, {
          config: { ...ctx.config, MEDIA_UPLOAD_TTL_SECONDS: TTL_SECONDS },
        })
      })
      after(async () => ctx.close())

      const db = () => ctx.app.platform.database.db
      async function row(
        status: 'uploading' | 'processing' | 'failed',
        expiresAt: Date,
        updatedAt = new Date(),
      ) {
        const id = ulid()
        await db()
          .insertInto('service_media_main')
          .values({
            id,
            campaign_slug: slug,
            owner_user_id: 'guest',
            owner_session_id: 'sess_sweep',
            status,
            filename: 'a.png',
            declared_type: 'image/png',
            max_bytes: 1000,
            storage_key: `${slug}/${id}/original`,
            upload_expires_at: expiresAt,
            upload_used_at: new Date(),
            metadata: {},
            updated_at: updatedAt,
          })
          .execute()
        return { id, key: `${slug}/${id}/original`, thumb: `${slug}/${id}/thumbnail.webp` }
      }

      it('keep them, and let them go once it ended or was left for good', async () => {
        // An upload that began before its URL expired may outlast it, without writing for a while.
        const slow = await row('uploading', new Date(Date.now() - 2 * TTL_SECONDS * 1000))
        const processing = await row('processing', new Date(Date.now() - 60_000))
        const kept = [
          plant(mediaDir, slow.key, 2 * TTL_SECONDS),
          plant(mediaDir, processing.thumb, 2 * TTL_SECONDS),
        ]
        // One a crashed process left `uploading` past the grace the quotas give it.
        const longAgo = new Date(Date.now() - IN_FLIGHT_GRACE_MS - 60_000)
        const stuck = await row('uploading', longAgo, longAgo)
        const failed = await row('failed', new Date(Date.now() + 60_000))
        const gone = [
          plant(mediaDir, stuck.key, 2 * TTL_SECONDS),
          plant(mediaDir, failed.key, 2 * TTL_SECONDS),
        ]

        assert.equal((await media.sweep()).partials, 2)
        for (const path of kept) assert.equal(existsSync(path), true, path)
        for (const path of gone) assert.equal(existsSync(path), false, path)

        await db()
          .updateTable('service_media_main')
          .set({ status: 'failed' })
          .where('id', '=', slow.id)
          .execute()
        await db().deleteFrom('service_media_main').where('id', '=', processing.id).execute()
        assert.equal((await media.sweep()).partials, 2)
        for (const path of kept) assert.equal(existsSync(path), false, path)
      })

      it('leave writes that complete alone: a committed file is not a .part file', async () => {
        const storage = createDiskStorage(join(ctx.config.DATA_DIR, 'written'))
        const out = await storage.open(`${slug}/${ulid()}/original`, 'image/png')
        out.stream.end(Buffer.from('bytes'))
        await new Promise((r) => out.stream.once('finish', r))
        const during = await storage.stalePartials!(new Date(Date.now() + 60_000))
        assert.equal(during.length, 1, 'a write in progress is a .part file')
        await out.commit()
        assert.deepEqual(await storage.stalePartials!(new Date(Date.now() + 60_000)), [])
      })
    })
  })
}
