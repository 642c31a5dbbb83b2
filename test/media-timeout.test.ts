import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { PARTIAL_DIR } from '../src/modules/media/disk.storage.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  buildTestApp,
  captureFrames,
  createCampaign,
  type Dialect,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { assertClosedWith, open, trickle, waitFor } from './slow-client.js'

/**
 * An upload whose client stops sending (slowloris on `PUT upload_url`) fails after
 * HTTP_BODY_IDLE_TIMEOUT_SECONDS without a byte, and one that trickles fails under
 * HTTP_BODY_MIN_BYTES_PER_SECOND, instead of holding its socket, its file and its row for ever;
 * one that is slow but steady is never cut, however long it takes. Over real sockets, with the
 * timeouts set to 1 s; outcomes are awaited, never timed.
 */

/** Noise does not compress: a PNG of about `side² × 3` bytes. */
const noisePng = (side: number) =>
  sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer()

/**
 * For one suite: an app with `env` listening on a port, a campaign, a guest who uploads to it, and
 * the `media_event`s the guest is told.
 */
function uploads(dialect: Dialect, env: Record<string, string>) {
  let ctx: TestContext
  let port: number
  let auth: Record<string, string>
  let slug: string
  const events: RealtimeMessage[] = []

  before(async () => {
    ctx = await buildTestApp({ dialect, env })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    port = (ctx.app.server.address() as AddressInfo).port
    auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
    slug = await createCampaign(ctx.app)
    await captureFrames(ctx.app, (m) => {
      if (m.frame.type === 'media_event') events.push(m)
    })
  })
  after(async () => ctx.close())

  const mediaRow = (id: string) =>
    ctx.app.platform.database.db
      .selectFrom('service_media_main')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  const statuses = (id: string) => events.filter((e) => e.frame.media_id === id).map((e) => e.frame)
  return {
    /** An upload URL for `file`, and a connection to PUT it on, with its head. */
    async start(file: Buffer) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: auth,
        payload: {
          action: 'upload_media',
          data: { filename: 'slow.png', content_type: 'image/png', size: file.length },
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      const { media_id: id, upload_url: path } = json(res).result
      const head =
        `PUT ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: image/png\r\nconnection: close\r\n` +
        `content-length: ${file.length}\r\n\r\n`
      return { id: id as string, head, ...open(port) }
    },
    statuses,
    mediaRow,
    /** The upload's row failed for `reason`, the uploader told so, no byte of it kept. */
    async assertFailed(id: string, reason: string) {
      await waitFor(async () => (await mediaRow(id)).status === 'failed')
      assert.equal((await mediaRow(id)).failure_reason, reason)
      await waitFor(() => statuses(id).some((f) => f.status === 'failed'))
      assert.equal(statuses(id).find((f) => f.status === 'failed')!.reason, reason)
      const partials = join(ctx.config.MEDIA_DIR, PARTIAL_DIR)
      assert.deepEqual(existsSync(partials) ? readdirSync(partials) : [], [])
      const kept = join(ctx.config.MEDIA_DIR, slug, id)
      assert.deepEqual(existsSync(kept) ? readdirSync(kept) : [], [])
    },
  }
}

for (const dialect of DIALECTS) {
  describe(`upload timeouts (${dialect})`, () => {
    const app = uploads(dialect, { HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1' })
    let png: Buffer
    before(async () => {
      png = await noisePng(128) // about 48 KB
    })

    it('fails an upload whose bytes stop coming: 408, row failed, partial file removed, uploader told', async () => {
      const { id, head, socket, closed } = await app.start(png)
      // Half the file, then nothing: the client holds the request open.
      socket.write(head + png.subarray(0, png.length / 2).toString('latin1'), 'latin1')
      // Answered by the app (its error handler), not straight on the socket.
      assertClosedWith(await closed, 408, 'REQUEST_TIMEOUT')
      await app.assertFailed(id, 'idle_timeout')
      // Bytes were being written to storage when the client went quiet.
      assert.ok(app.statuses(id).some((f) => f.status === 'uploading'))
    })

    it('fails an upload that sends its headers and no byte', async () => {
      const { id, head, socket, closed } = await app.start(png)
      socket.write(head)
      assertClosedWith(await closed, 408, 'REQUEST_TIMEOUT')
      await app.assertFailed(id, 'idle_timeout')
    })

    it('completes an upload that is slow but steady, for longer than every deadline', async () => {
      const { id, head, socket, closed } = await app.start(png)
      socket.write(head)
      // 16 pieces, one every 200 ms: over 3 s in all, never 1 s without a byte.
      await trickle(socket, png, Math.ceil(png.length / 16), 200)
      const answer = await closed
      assert.equal(answer.status, 200, JSON.stringify(answer))
      assert.equal(answer.body.media_id, id)
      assert.equal(answer.body.status, 'ready')
      const row = await app.mediaRow(id)
      assert.equal(row.status, 'ready')
      assert.equal(Number(row.size_bytes), png.length)
    })
  })

  describe(`upload rate floor (${dialect})`, () => {
    // The idle timeout stays long: only the floor can cut these uploads.
    const app = uploads(dialect, {
      HTTP_BODY_MIN_BYTES_PER_SECOND: '1000',
      HTTP_BODY_MIN_RATE_GRACE_SECONDS: '1',
    })
    let png: Buffer
    before(async () => {
      png = await noisePng(72) // about 16 KB
    })

    it('fails an upload that trickles in, never idle: 408 BODY_TOO_SLOW, failed too_slow', async () => {
      const { id, head, socket, closed } = await app.start(png)
      socket.write(head)
      // 10 bytes/s: it would take nearly half an hour.
      void trickle(socket, png, 1, 100)
      assertClosedWith(await closed, 408, 'BODY_TOO_SLOW')
      await app.assertFailed(id, 'too_slow')
    })

    it('completes an upload that comes slowly but above the floor', async () => {
      const { id, head, socket, closed } = await app.start(png)
      socket.write(head)
      // About 4 KiB/s, four times the floor: 4 s in all.
      await trickle(socket, png, 1024, 250)
      const answer = await closed
      assert.equal(answer.status, 200, JSON.stringify(answer))
      assert.equal(answer.body.media_id, id)
      assert.equal(answer.body.status, 'ready')
      assert.equal(Number((await app.mediaRow(id)).size_bytes), png.length)
    })
  })
}
