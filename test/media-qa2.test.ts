import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, sendAction } from './helper.js'
import { filesUnder, mediaRow, mediaSuite } from './media-fixtures.js'

/** A small PDF: sniffed as application/pdf, no thumbnail. */
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2000, 0x20), Buffer.from('\n%%EOF\n')])
const PER_FILE = 100_000
const USER_QUOTA = 250_000

/** PUT `body` in one write; `chunked` sends no Content-Length, `contentLength` overrides it. */
function put(url: string, body: Buffer, opts: { chunked?: boolean; contentLength?: number } = {}) {
  return new Promise<{ status?: number; body: any }>((resolve, reject) => {
    const u = new URL(url)
    const headers: Record<string, string | number> = { 'content-type': 'application/pdf' }
    if (!opts.chunked) headers['content-length'] = opts.contentLength ?? body.length
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      )
    })
    req.on('error', reject)
    // A body shorter than its Content-Length is only ever sent by hand: end the request without it.
    if (opts.contentLength !== undefined && opts.contentLength > body.length) req.write(body)
    else req.end(body)
  })
}

for (const dialect of DIALECTS) {
  describe(`media QA 2 (${dialect})`, () => {
    const suite = mediaSuite(dialect, {
      env: { MEDIA_USER_QUOTA_BYTES: String(USER_QUOTA) },
      campaign: { metadata: { custom_rules: { media_max_bytes: PER_FILE } } },
    })

    async function ticket(size?: number, auth = suite.token) {
      const res = await sendAction(suite.app, suite.slug, auth, 'upload_media', {
        filename: 'flyer.pdf',
        content_type: 'application/pdf',
        ...(size === undefined ? {} : { size }),
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result as { media_id: string; upload_url: string; max_bytes: number }
    }

    /** The upload failed as `reason` and left no file and no served URL. */
    async function failedWithNothing(id: string, reason: string) {
      const row = await mediaRow(suite.app.platform.database.db, id)
      assert.deepEqual([row.status, row.failure_reason], ['failed', reason])
      assert.deepEqual(filesUnder(join(suite.ctx.config.MEDIA_DIR, suite.slug, id)), [])
      assert.equal((await fetch(`${suite.base}/media/${id}`)).status, 404)
    }

    it('refuses a body that ends short of the size its URL was asked for, publishing nothing', async () => {
      const t = await ticket(PDF.length)
      // Chunked: the body ends cleanly, only shorter (a client or proxy that cut it off).
      const res = await put(suite.base + t.upload_url, PDF.subarray(0, 1000), { chunked: true })
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'UPLOAD_SIZE_MISMATCH')
      assert.deepEqual(res.body.error.details, { declared_bytes: PDF.length, received_bytes: 1000 })
      await failedWithNothing(t.media_id, 'size_mismatch')
    })

    it('refuses a Content-Length other than the declared size before reading the body', async () => {
      const t = await ticket(PDF.length)
      const res = await put(suite.base + t.upload_url, PDF.subarray(0, 1000))
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'UPLOAD_SIZE_MISMATCH')
      await failedWithNothing(t.media_id, 'size_mismatch')
    })

    it('refuses a body longer than the declared size', async () => {
      const t = await ticket(1000)
      const res = await put(suite.base + t.upload_url, PDF, { chunked: true })
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'UPLOAD_SIZE_MISMATCH')
      await failedWithNothing(t.media_id, 'size_mismatch')
    })

    it('publishes a body of exactly the declared size, and one whose size was not declared', async () => {
      for (const size of [PDF.length, undefined]) {
        const t = await ticket(size)
        const res = await put(suite.base + t.upload_url, PDF, { chunked: true })
        assert.equal(res.status, 200, JSON.stringify(res.body))
        assert.deepEqual([res.body.status, res.body.size], ['ready', PDF.length])
      }
    })

    it('reserves only the declared size against the quota', async () => {
      // 250,000 bytes of quota, files of up to 100,000: without a size an open URL holds 100,000,
      // so a third is cut; ten URLs for files of 2,016 bytes fit easily.
      const { token: mine } = await guestToken(suite.app)
      const tickets = []
      for (let i = 0; i < 10; i++) tickets.push(await ticket(PDF.length, mine))
      assert.ok(tickets.every((t) => t.max_bytes === PDF.length))
      for (const t of tickets.slice(0, 2)) {
        const res = await put(suite.base + t.upload_url, PDF)
        assert.equal(res.status, 200, JSON.stringify(res.body))
      }
      // Undeclared, an URL still takes what is left, up to the per-file limit.
      const open = await ticket(undefined, mine)
      assert.equal(open.max_bytes, PER_FILE)
    })

    it('fails an upload whose storage cannot be opened (503), instead of leaving it uploading', async () => {
      const broken = await createCampaign(suite.app)
      // The campaign's directory is a file: the storage cannot create the upload's file.
      mkdirSync(suite.ctx.config.MEDIA_DIR, { recursive: true })
      writeFileSync(join(suite.ctx.config.MEDIA_DIR, broken), 'not a directory')
      const res = await sendAction(suite.app, broken, suite.token, 'upload_media', {
        filename: 'flyer.pdf',
        content_type: 'application/pdf',
        size: PDF.length,
      })
      const t = json(res).result as { media_id: string; upload_url: string }
      const answer = await put(suite.base + t.upload_url, PDF)
      // The storage's failure, as when it refuses bytes midway: 503, not a masked 500.
      assert.equal(answer.status, 503, JSON.stringify(answer.body))
      assert.equal(answer.body.error.code, 'STORAGE_UNAVAILABLE')
      const row = await mediaRow(suite.app.platform.database.db, t.media_id)
      assert.deepEqual([row.status, row.failure_reason], ['failed', 'storage_error'])
      // The uploader reads that it failed, and its reservation no longer counts.
      const own = await suite.app.inject({
        method: 'GET',
        url: `/api/media/${t.media_id}`,
        headers: { authorization: `Bearer ${suite.token}` },
      })
      assert.deepEqual([json(own).status, json(own).reason], ['failed', 'storage_error'])
    })

    it('answers a long list of ranges with the whole file, not 400', async () => {
      const t = await ticket(PDF.length)
      assert.equal((await put(suite.base + t.upload_url, PDF)).status, 200)
      // 60 ranges, as a media player or PDF viewer may ask: several ranges may be answered in full.
      const many = `bytes=${Array.from({ length: 60 }, (_, i) => `${i * 30}-${i * 30 + 9}`).join(',')}`
      assert.ok(many.length > 500)
      const res = await fetch(`${suite.base}/media/${t.media_id}`, { headers: { range: many } })
      assert.equal(res.status, 200)
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(PDF))
      // One range, however it is padded with leading zeros, is still one range.
      const one = await fetch(`${suite.base}/media/${t.media_id}`, {
        headers: { range: `bytes=${'0'.repeat(300)}9-19` },
      })
      assert.equal(one.status, 206)
      assert.ok(Buffer.from(await one.arrayBuffer()).equals(PDF.subarray(9, 20)))
    })

    it('pages through a campaign media list with before, and filters it by status', async () => {
      const own = await createCampaign(suite.app)
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        const res = await sendAction(suite.app, own, suite.token, 'upload_media', {
          filename: `f${i}.pdf`,
          content_type: 'application/pdf',
          size: PDF.length,
        })
        ids.push(json(res).result.media_id)
      }
      const list = async (query: string) => {
        const res = await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${own}/media?${query}`,
          headers: adminHeaders,
        })
        assert.equal(res.statusCode, 200, res.body)
        return json(res).media.map((m: any) => m.media_id) as string[]
      }
      // Newest first by id (ULIDs start with their time; two in one millisecond keep one order).
      const newestFirst = [...ids].sort().reverse()
      const first = await list('limit=2')
      assert.deepEqual(first, newestFirst.slice(0, 2))
      // The last id seen pages on, even once that media is deleted.
      const del = await suite.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${own}/media/${first[1]}`,
        headers: adminHeaders,
      })
      assert.equal(del.statusCode, 204)
      assert.deepEqual(await list(`limit=2&before=${first[1]}`), newestFirst.slice(2, 4))
      assert.deepEqual(await list(`limit=2&before=${newestFirst[3]}`), newestFirst.slice(4))
      assert.deepEqual(await list(`before=${newestFirst[4]}`), [])
      assert.deepEqual(
        await list('status=pending&limit=500'),
        newestFirst.filter((id) => id !== first[1]),
      )
      assert.deepEqual(await list('status=ready'), [])
      for (const bad of ['before=nope', 'status=gone']) {
        const res = await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${own}/media?${bad}`,
          headers: adminHeaders,
        })
        assert.equal(res.statusCode, 400, bad)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
    })
  })
}
