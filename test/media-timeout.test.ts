import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
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
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

/**
 * An upload whose client stops sending (slowloris on `PUT upload_url`) fails after
 * HTTP_BODY_IDLE_TIMEOUT_SECONDS without a byte, instead of holding its socket, its file and its
 * row for ever; one that is slow but steady is never cut, however long it takes. Over real
 * sockets, with the timeouts set to 1 s; outcomes are awaited, never timed.
 */

const DEADLINE_MS = 20_000

interface Answer {
  status?: number
  headers: Record<string, string>
  body?: any
}

/** A raw connection: what it received by the time the server closed it. */
function open(port: number): { socket: Socket; closed: Promise<Answer> } {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => {})
  const closed = new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('the server never closed the connection'))
    }, DEADLINE_MS)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parse(Buffer.concat(chunks).toString()))
    })
  })
  return { socket, closed }
}

function parse(text: string): Answer {
  if (!text) return { headers: {} }
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string | undefined]
  const [status, ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(status!.split(' ')[1]), headers, body: body ? JSON.parse(body) : undefined }
}

async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + DEADLINE_MS
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const dialect of DIALECTS) {
  describe(`upload timeouts (${dialect})`, () => {
    let ctx: TestContext
    let port: number
    let auth: Record<string, string>
    let slug: string
    let png: Buffer
    const events: RealtimeMessage[] = []

    before(async () => {
      ctx = await buildTestApp({
        dialect,
        env: { HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1' },
      })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      port = (ctx.app.server.address() as AddressInfo).port
      auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
      slug = await createCampaign(ctx.app)
      await captureFrames(ctx.app, (m) => {
        if (m.frame.type === 'media_event') events.push(m)
      })
      // Noise does not compress: about 48 KB.
      png = await sharp(randomBytes(128 * 128 * 3), { raw: { width: 128, height: 128, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
    })
    after(async () => ctx.close())

    async function ticket(): Promise<{ id: string; path: string }> {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: auth,
        payload: {
          action: 'upload_media',
          data: { filename: 'slow.png', content_type: 'image/png', size: png.length },
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      const { media_id, upload_url } = json(res).result
      return { id: media_id, path: upload_url }
    }
    const statuses = (id: string) => events.filter((e) => e.frame.media_id === id).map((e) => e.frame)
    const mediaRow = (id: string) =>
      ctx.app.platform.database.db
        .selectFrom('service_media_main')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    const head = (path: string) =>
      `PUT ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: image/png\r\nconnection: close\r\n` +
      `content-length: ${png.length}\r\n\r\n`

    it('fails an upload whose bytes stop coming: 408, row failed, partial file removed, uploader told', async () => {
      const { id, path } = await ticket()
      const { socket, closed } = open(port)
      // Half the file, then nothing: the client holds the request open.
      socket.write(head(path) + png.subarray(0, png.length / 2).toString('latin1'), 'latin1')
      const answer = await closed
      assert.equal(answer.status, 408, JSON.stringify(answer))
      assert.equal(answer.body.status, 'error')
      assert.equal(answer.body.error.code, 'REQUEST_TIMEOUT')
      // Answered by the app (its error handler), not straight on the socket.
      assert.equal(typeof answer.body.request_id, 'string')
      assert.equal(answer.body.request_id, answer.headers['x-request-id'])
      assert.equal(answer.headers.connection, 'close')

      await waitFor(() => statuses(id).some((f) => f.status === 'failed'))
      const frames = statuses(id)
      // Bytes were being written to storage when the client went quiet.
      assert.ok(frames.some((f) => f.status === 'uploading'))
      assert.equal(frames.find((f) => f.status === 'failed')!.reason, 'idle_timeout')
      const row = await mediaRow(id)
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'idle_timeout')
      const partials = join(ctx.config.MEDIA_DIR, PARTIAL_DIR)
      assert.deepEqual(existsSync(partials) ? readdirSync(partials) : [], [])
      const kept = join(ctx.config.MEDIA_DIR, slug, id)
      assert.deepEqual(existsSync(kept) ? readdirSync(kept) : [], [])
    })

    it('fails an upload that sends its headers and no byte', async () => {
      const { id, path } = await ticket()
      const { socket, closed } = open(port)
      socket.write(head(path))
      const answer = await closed
      assert.equal(answer.status, 408, JSON.stringify(answer))
      assert.equal(answer.body.error.code, 'REQUEST_TIMEOUT')
      await waitFor(async () => (await mediaRow(id)).status === 'failed')
      assert.equal((await mediaRow(id)).failure_reason, 'idle_timeout')
    })

    it('completes an upload that is slow but steady, for longer than every deadline', async () => {
      const { id, path } = await ticket()
      const { socket, closed } = open(port)
      socket.write(head(path))
      // 16 pieces, one every 200 ms: over 3 s in all, never 1 s without a byte.
      const piece = Math.ceil(png.length / 16)
      for (let offset = 0; offset < png.length; offset += piece) {
        await sleep(200)
        socket.write(png.subarray(offset, offset + piece))
      }
      const answer = await closed
      assert.equal(answer.status, 200, JSON.stringify(answer))
      assert.equal(answer.body.media_id, id)
      assert.equal(answer.body.status, 'ready')
      const row = await mediaRow(id)
      assert.equal(row.status, 'ready')
      assert.equal(Number(row.size_bytes), png.length)
    })
  })
}
