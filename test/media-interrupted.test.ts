import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ulid } from 'ulid'
import { PARTIAL_DIR } from '../src/modules/media/disk.storage.js'
import { IN_FLIGHT_GRACE_MS } from '../src/modules/media/media.quota.js'
import { usage } from '../src/modules/media/media.repo.js'
import type { MediaService } from '../src/modules/media/media.service.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { Principal } from '../src/platform/auth/principal.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import { buildTestApp, DIALECTS, type TestContext, uniqueSlug } from './helper.js'
import { mediaRow as rowOf, openPut, reserveUpload, standaloneMedia, uploadServer } from './media-fixtures.js'
import { waitUntil } from './realtime/client.js'

/**
 * Uploads whose process died (a crash mid-upload or mid-thumbnail) are failed by the sweep once
 * they have shown no sign of life for the grace the quotas give them; live ones never are.
 */

type Status = 'pending' | 'uploading' | 'processing' | 'ready' | 'failed'

const uploader: Principal = { kind: 'session', user_id: 'guest', session_id: 'sess_stuck', roles: ['guest'] }
const MAX = 1000
const longAgo = () => new Date(Date.now() - IN_FLIGHT_GRACE_MS - 60_000)

for (const dialect of DIALECTS) {
  describe(`uploads a crash interrupted (${dialect})`, () => {
    let ctx: TestContext
    let media: MediaService
    let dir: string
    const frames: RealtimeMessage[] = []
    const slug = uniqueSlug('stuck')
    const campaign = { slug, metadata: {} } as unknown as Campaign

    before(async () => {
      ctx = await buildTestApp({ dialect })
      dir = join(ctx.config.DATA_DIR, 'stuck-media')
      media = standaloneMedia(ctx, dir, {
        publisher: {
          publish: async (audience, frame) => {
            frames.push({ audience, frame })
          },
        },
        campaigns: { find: async (s) => (s === slug ? campaign : undefined) },
        // Every progress report writes the row: the test need not wait minutes for a heartbeat.
        heartbeatMs: 0,
      })
    })
    after(async () => ctx.close())

    const db = () => ctx.app.platform.database.db
    const failedEvents = (id: string) =>
      frames.filter((f) => f.frame.media_id === id && f.frame.status === 'failed')
    const mediaRow = (id: string) => rowOf(db(), id)

    /** A row as an upload leaves it, with a file at each of `files` (`part`: still being written). */
    async function planted(
      status: Status,
      times: { expires: Date; updated: Date },
      files: Array<'original' | 'thumbnail' | 'part'> = [],
      session = uploader.session_id,
    ) {
      const id = ulid()
      const key = `${slug}/${id}/original`
      await db()
        .insertInto('service_media_main')
        .values({
          id,
          campaign_slug: slug,
          owner_user_id: 'guest',
          owner_session_id: session,
          status,
          filename: 'a.png',
          declared_type: 'image/png',
          max_bytes: MAX,
          size_bytes: status === 'uploading' || status === 'pending' ? null : 500,
          storage_key: key,
          upload_expires_at: times.expires,
          upload_used_at: status === 'pending' ? null : times.expires,
          metadata: {},
          updated_at: times.updated,
        })
        .execute()
      const paths: string[] = []
      for (const file of files) {
        const path =
          file === 'part'
            ? join(dir, PARTIAL_DIR, `${encodeURIComponent(key)}.${ulid()}.part`)
            : join(dir, slug, id, file === 'original' ? 'original' : 'thumbnail.webp')
        mkdirSync(join(path, '..'), { recursive: true })
        writeFileSync(path, 'bytes')
        // As old as the crash that left it.
        if (file === 'part') utimesSync(path, times.updated, times.updated)
        paths.push(path)
      }
      return { id, paths }
    }

    it('fails those past the grace, without their files and their quota, telling their uploader', async () => {
      const old = { expires: longAgo(), updated: longAgo() }
      const session = `sess_${ulid()}`
      const midUpload = await planted('uploading', old, ['part'], session)
      const midThumbnail = await planted('processing', old, ['original', 'thumbnail'], session)
      // Alive: a slow upload past its URL's expiry, still writing its row; one processing now.
      const slow = await planted('uploading', { expires: longAgo(), updated: new Date() }, ['part'], session)
      const processing = await planted(
        'processing',
        { expires: new Date(Date.now() - 60_000), updated: new Date() },
        ['original'],
        session,
      )
      // Not in flight: left as they are.
      const ready = await planted('ready', old, ['original'], session)
      const unused = await planted('pending', old, [], session)
      const holds = () =>
        usage(db(), { session_id: session }, new Date(), new Date(Date.now() - IN_FLIGHT_GRACE_MS))

      const swept = await media.sweep()
      assert.equal(swept.interrupted, 2)
      for (const { id, paths } of [midUpload, midThumbnail]) {
        const row = await mediaRow(id)
        assert.equal(row.status, 'failed')
        assert.equal(row.failure_reason, 'interrupted')
        for (const path of paths) assert.equal(existsSync(path), false, path)
        const events = failedEvents(id)
        assert.equal(events.length, 1)
        assert.equal(events[0]!.frame.reason, 'interrupted')
        assert.equal(events[0]!.frame.type, 'media_event')
        assert.deepEqual(events[0]!.audience, { scope: 'session', campaign: slug, session_id: session })
      }
      for (const [{ id, paths }, status] of [
        [slow, 'uploading'],
        [processing, 'processing'],
        [ready, 'ready'],
        [unused, 'pending'],
      ] as const) {
        assert.equal((await mediaRow(id)).status, status)
        for (const path of paths) assert.equal(existsSync(path), true, path)
        assert.deepEqual(failedEvents(id), [])
      }
      // What the session holds: the two live uploads' reservations and the ready media.
      assert.equal(await holds(), 2 * MAX + 500)

      // Nothing twice.
      assert.equal((await media.sweep()).interrupted, 0)
      assert.equal(failedEvents(midUpload.id).length, 1)
    })

    it('fails each once when nodes sweep at the same time', async () => {
      const ids: string[] = []
      // More than one batch.
      for (let i = 0; i < 230; i++) {
        ids.push(
          (await planted(i % 2 ? 'uploading' : 'processing', { expires: longAgo(), updated: longAgo() })).id,
        )
      }
      const nodes = [media, media, media]
      const results = await Promise.all(nodes.map((m) => m.sweep()))
      assert.equal(
        results.reduce((n, r) => n + r.interrupted, 0),
        ids.length,
      )
      for (const id of ids) {
        assert.equal((await mediaRow(id)).status, 'failed')
        assert.equal(failedEvents(id).length, 1, id)
      }
    })

    describe('an upload slower than the grace', () => {
      let server: Awaited<ReturnType<typeof uploadServer>>

      before(async () => {
        server = await uploadServer(media)
      })
      after(async () => server.close())

      it('is not failed while its bytes keep coming', async () => {
        const { id, url } = await reserveUpload(db(), media, server.base, campaign, uploader, {
          filename: 'slow.bin',
          content_type: 'application/pdf',
        })
        const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n', 'latin1'), randomBytes(200_000)])
        const { req, answer } = openPut(url, 'application/pdf', pdf.length)
        req.write(pdf.subarray(0, 50_000))
        await waitUntil(async () => (await mediaRow(id)).status === 'uploading', 10_000, 'uploading')
        // As if it had been arriving for more than a day since its URL expired.
        const past = longAgo()
        await db()
          .updateTable('service_media_main')
          .set({ upload_expires_at: past, updated_at: past })
          .where('id', '=', id)
          .execute()
        req.write(pdf.subarray(50_000, 100_000))
        // Its heartbeat: the row says it is alive again.
        await waitUntil(async () => (await mediaRow(id)).updated_at > past, 10_000, 'a heartbeat')
        assert.equal((await media.sweep()).interrupted, 0)
        assert.equal((await mediaRow(id)).status, 'uploading')
        req.end(pdf.subarray(100_000))
        const res = await answer
        assert.equal(res.status, 200, JSON.stringify(res.body))
        assert.equal(res.body.status, 'ready')
        assert.deepEqual(failedEvents(id), [])
      })
    })
  })
}
