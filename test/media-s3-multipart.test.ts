import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { after, afterEach, before, describe, it } from 'node:test'
import { usage } from '../src/modules/media/media.repo.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  listenLocally,
  type TestContext,
} from './helper.js'
import { mediaRow, uploadTicket } from './media-fixtures.js'
import { waitUntil } from './realtime/client.js'
import { s3StorageEnv, startS3Server } from './s3-server.js'

/**
 * Media over 8 MiB go to S3 as multipart uploads (one 8 MiB part of memory at a time): stored
 * byte for byte, and, whichever way the upload ends early, neither an object nor an unfinished
 * upload (billed storage) is left in the bucket, nor a quota held.
 */

const MiB = 1024 * 1024
const PART = 8 * MiB
/** `size` bytes a sniffer reads as a PDF (no thumbnail, no metadata removed: stored as sent). */
const pdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(size - 9)])
const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/**
 * A PUT of `body` to `url`, written as a slow client would (waiting for drain). `stopAt` stops
 * writing after that many bytes (the request stays open: `req.destroy()` is a disconnect);
 * `chunked` sends no Content-Length. `answer` is the status and JSON body, or the socket error.
 */
function put(url: string, body: Buffer, opts: { stopAt?: number; chunked?: boolean } = {}) {
  const u = new URL(url)
  const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' }
  if (!opts.chunked) headers['content-length'] = body.length
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers })
  const answer = new Promise<{ status?: number; body?: any; error?: string }>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined })
      })
    })
    // An answer may come while the body is still being written: it wins over the reset after it.
    req.on('error', (err) => setTimeout(() => resolve({ error: (err as NodeJS.ErrnoException).code }), 200))
  })
  let offset = 0
  const end = opts.stopAt ?? body.length
  const pump = () => {
    while (offset < end) {
      const piece = body.subarray(offset, Math.min(offset + 64 * 1024, end))
      offset += piece.length
      if (!req.write(piece)) return void req.once('drain', pump)
    }
    if (opts.stopAt === undefined) req.end()
  }
  pump()
  return { req, answer }
}

/** A test app storing its media in a fresh test bucket, with a guest's campaign to upload to. */
async function s3App(dialect: (typeof DIALECTS)[number], env: Record<string, string> = {}) {
  const s3 = await startS3Server('test-secret')
  const ctx: TestContext = await buildTestApp({ dialect, env: { ...s3StorageEnv(s3), ...env } })
  const base = await listenLocally(ctx.app)
  const auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
  const slug = await createCampaign(ctx.app)
  const db = () => ctx.app.platform.database.db
  return {
    s3,
    ctx,
    base,
    /** The answer to a request for an upload URL for a PDF (of `size` bytes, when named). */
    ask: (size?: number) =>
      uploadTicket(ctx.app, slug, auth, {
        filename: 'big.pdf',
        content_type: 'application/pdf',
        ...(size === undefined ? {} : { size }),
      }),
    /** An upload URL for a PDF (of `size` bytes, when named). */
    async ticket(size?: number) {
      const t = await this.ask(size)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return { id: t.body.result.media_id as string, url: base + t.body.result.upload_url }
    },
    /** What the bucket holds for media `id`: objects, and multipart uploads not finished. */
    left(id: string) {
      return {
        objects: [...s3.objects.keys()].filter((key) => key.includes(id)),
        uploads: [...s3.uploads.values()].filter((u) => u.path.includes(id)).length,
      }
    },
    /** The S3 calls made for media `id`'s original, by name. */
    calls: (id: string) => s3.requests.filter((r) => r.path.endsWith(`${id}/original`)).map((r) => r.action),
    row: (id: string) => mediaRow(db(), id),
    /** The bytes media `id` holds against its campaign's quota. */
    async holds(id: string) {
      const now = new Date()
      const scope = { campaign: slug }
      return (await usage(db(), scope, now, new Date(0))) - (await usage(db(), scope, now, new Date(0), id))
    },
    async close() {
      await ctx.close()
      await s3.close()
    },
  }
}

for (const dialect of DIALECTS) {
  describe(`media over 8 MiB in an S3 bucket (${dialect})`, () => {
    let app: Awaited<ReturnType<typeof s3App>>

    before(async () => {
      app = await s3App(dialect)
    })
    afterEach(() => {
      app.s3.intercept = undefined
    })
    after(async () => app?.close())

    /** Uploads `bytes` as a PDF and answers its media id, once ready. */
    async function uploaded(bytes: Buffer) {
      const { id, url } = await app.ticket(bytes.length)
      const res = await put(url, bytes).answer
      assert.equal(res.status, 200, JSON.stringify(res))
      assert.equal(res.body.status, 'ready')
      assert.equal(res.body.size, bytes.length)
      assert.equal(res.body.sha256, sha256(bytes))
      return id
    }
    const stored = (id: string) =>
      app.s3.objects.get(app.left(id).objects.find((k) => k.endsWith('/original'))!)

    it('stores a 20 MiB upload byte for byte in 8 MiB parts, served whole and by ranges across parts', async () => {
      const bytes = pdf(20 * MiB + 12_345)
      const id = await uploaded(bytes)
      assert.deepEqual(app.calls(id), [
        'CreateMultipartUpload',
        'UploadPart',
        'UploadPart',
        'UploadPart',
        'CompleteMultipartUpload',
      ])
      assert.equal(app.left(id).uploads, 0)
      assert.equal(sha256(stored(id)!.body), sha256(bytes))
      assert.equal(stored(id)!.contentType, 'application/pdf')

      const whole = await fetch(`${app.base}/media/${id}`)
      assert.equal(whole.status, 200)
      assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), sha256(bytes))
      // Across the first part boundary, and across the second into the short last part.
      for (const [start, end] of [
        [PART - 100, PART + 99],
        [2 * PART - 1, 2 * PART + 12_000],
      ] as const) {
        const part = await fetch(`${app.base}/media/${id}`, { headers: { range: `bytes=${start}-${end}` } })
        assert.equal(part.status, 206)
        assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`)
        assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(start, end + 1)))
      }
    })

    it('stores exactly 8 MiB as one PutObject, and 8 MiB + 1 byte as two parts', async () => {
      const eight = pdf(PART)
      const one = await uploaded(eight)
      assert.deepEqual(app.calls(one), ['PutObject'])
      assert.equal(sha256(stored(one)!.body), sha256(eight))

      const more = pdf(PART + 1)
      const two = await uploaded(more)
      assert.deepEqual(app.calls(two), [
        'CreateMultipartUpload',
        'UploadPart',
        'UploadPart',
        'CompleteMultipartUpload',
      ])
      assert.equal(sha256(stored(two)!.body), sha256(more))
      assert.equal(app.left(two).uploads, 0)
    })

    it('leaves no object, no unfinished upload and no quota held when the client goes away', async () => {
      const bytes = pdf(20 * MiB)
      const { id, url } = await app.ticket(bytes.length)
      const { req, answer } = put(url, bytes, { stopAt: 10 * MiB })
      // The first part went up; the second is being gathered.
      await waitUntil(
        () => [...app.s3.uploads.values()].some((u) => u.path.includes(id) && u.parts.size === 1),
        30_000,
        'the first part in the bucket',
      )
      req.destroy()
      assert.ok((await answer).error, 'the client went away')
      await waitUntil(async () => (await app.row(id)).status === 'failed', 30_000, 'the upload failed')
      assert.equal((await app.row(id)).failure_reason, 'client_disconnected')
      assert.deepEqual(app.left(id), { objects: [], uploads: 0 })
      assert.ok(app.calls(id).includes('AbortMultipartUpload'))
      assert.equal(await app.holds(id), 0)
    })

    it('fails the upload with a clear error when the bucket fails a part, and aborts it', async () => {
      // Every attempt at part 2 (the SDK retries a 500).
      app.s3.intercept = ({ action, partNumber }) =>
        action === 'UploadPart' && partNumber === 2 ? 'fail' : undefined
      const bytes = pdf(20 * MiB)
      const { id, url } = await app.ticket(bytes.length)
      const res = await put(url, bytes).answer
      assert.equal(res.status, 503, JSON.stringify(res))
      assert.equal(res.body.error.code, 'STORAGE_UNAVAILABLE')
      const row = await app.row(id)
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'storage_error')
      assert.deepEqual(app.left(id), { objects: [], uploads: 0 })
      assert.ok(app.calls(id).includes('AbortMultipartUpload'))
      assert.equal(await app.holds(id), 0)
    })
  })

  describe(`media over MEDIA_MAX_BYTES in an S3 bucket (${dialect})`, () => {
    let app: Awaited<ReturnType<typeof s3App>>

    before(async () => {
      app = await s3App(dialect, { MEDIA_MAX_BYTES: String(12 * MiB) })
    })
    after(async () => app?.close())

    it('refuses it, leaving nothing in the bucket, whether its size is said or not', async () => {
      const bytes = pdf(16 * MiB)
      // Said in the ticket, or in Content-Length: refused before any byte goes to the bucket.
      const declared = await app.ask(bytes.length)
      assert.equal(declared.status, 413)
      assert.equal(declared.body.error.code, 'MEDIA_TOO_LARGE')
      const sized = await app.ticket()
      const early = await put(sized.url, bytes).answer
      assert.ok(early.status === 413 || early.error, JSON.stringify(early))
      if (early.status) assert.equal(early.body.error.code, 'MEDIA_TOO_LARGE')
      assert.deepEqual(app.calls(sized.id), [])

      // Said nowhere: the stream stops at 12 MiB, after a part went up.
      const { id, url } = await app.ticket()
      const streamed = await put(url, bytes, { chunked: true }).answer
      assert.ok(streamed.status === 413 || streamed.error, JSON.stringify(streamed))
      if (streamed.status) assert.equal(streamed.body.error.code, 'MEDIA_TOO_LARGE')
      await waitUntil(async () => (await app.row(id)).status === 'failed', 30_000, 'the upload failed')
      assert.equal((await app.row(id)).failure_reason, 'too_large')
      assert.ok(app.calls(id).includes('UploadPart'))
      assert.deepEqual(app.left(id), { objects: [], uploads: 0 })
      assert.equal(await app.holds(id), 0)
    })
  })
}
