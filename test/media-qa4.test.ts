import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
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
import { type S3Server, s3StorageEnv, startS3Server } from './s3-server.js'

/** A small PNG of one colour. */
function picture() {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: '#36a' } })
    .png()
    .toBuffer()
}
/** A small PDF: sniffed as application/pdf, no thumbnail. */
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(500, 0x20), Buffer.from('\n%%EOF\n')])
/** A media id no media has. */
const UNKNOWN = '01ARZ3NDEKTSV4RRFFQ69G5FAV'

/** The calls of one test app that upload and read media. */
function mediaClient(ctx: TestContext, base: string, auth: Record<string, string>, slug: string) {
  async function ticket(data: Record<string, unknown>) {
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/api/${slug}/update`,
      headers: auth,
      payload: { action: 'upload_media', data },
    })
    assert.equal(res.statusCode, 200, res.body)
    return json(res).result as { media_id: string; upload_url: string }
  }
  return {
    ticket,
    /** Asks for an upload URL, PUTs `bytes` to it, and answers the published media's URL. */
    async upload(bytes: Buffer, filename: string, contentType: string) {
      const t = await ticket({ filename, content_type: contentType, size: bytes.length })
      const res = await fetch(base + t.upload_url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      })
      const body = await res.json()
      assert.equal(res.status, 200, JSON.stringify(body))
      assert.equal(body.status, 'ready')
      return { id: t.media_id, url: `${base}/media/${t.media_id}` }
    },
    remove: (id: string) =>
      ctx.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}/media/${id}`, headers: auth }),
  }
}

/** Says `res` is an error answer no cache may keep, with `code` in its JSON body (GET). */
async function assertNotStored(res: Response, status: number, code: string | undefined, what: string) {
  assert.equal(res.status, status, what)
  assert.equal(res.headers.get('cache-control'), 'no-store', what)
  // The file's validators describe the file, not this answer.
  assert.equal(res.headers.get('etag'), null, what)
  assert.equal(res.headers.get('last-modified'), null, what)
  const body = await res.text()
  if (code) assert.equal(JSON.parse(body).error.code, code, what)
}

for (const dialect of DIALECTS) {
  describe(`media QA 4, disk (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let client: ReturnType<typeof mediaClient>

    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      const auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
      client = mediaClient(ctx, base, auth, await createCampaign(ctx.app))
    })
    after(async () => ctx.close())

    it('answers the errors of the file routes with Cache-Control: no-store', async () => {
      const missing = `${base}/media/${UNKNOWN}`
      for (const method of ['GET', 'HEAD']) {
        for (const url of [missing, `${missing}/thumbnail`]) {
          const res = await fetch(url, { method })
          await assertNotStored(
            res,
            404,
            method === 'GET' ? 'MEDIA_NOT_FOUND' : undefined,
            `${method} ${url}`,
          )
        }
      }
      // Not ready yet: it may be a moment later, so a CDN must not keep this 404.
      const pending = await client.ticket({ filename: 'later.png', content_type: 'image/png' })
      await assertNotStored(
        await fetch(`${base}/media/${pending.media_id}`),
        404,
        'MEDIA_NOT_FOUND',
        'pending',
      )
      // A file with no thumbnail.
      const pdf = await client.upload(PDF, 'doc.pdf', 'application/pdf')
      await assertNotStored(await fetch(`${pdf.url}/thumbnail`), 404, 'MEDIA_NOT_FOUND', 'no thumbnail')
      // A malformed id or header.
      await assertNotStored(
        await fetch(`${base}/media/${'x'.repeat(65)}`),
        400,
        'VALIDATION_FAILED',
        'long id',
      )
      const longTag = await fetch(pdf.url, { headers: { 'if-none-match': `"${'a'.repeat(5000)}"` } })
      await assertNotStored(longTag, 400, 'VALIDATION_FAILED', 'long If-None-Match')
      // 416, with the file's own headers (type, name) gone: the body is the JSON error.
      const beyond = await fetch(pdf.url, { headers: { range: 'bytes=9999-' } })
      assert.equal(beyond.headers.get('content-range'), `bytes */${PDF.length}`)
      assert.match(beyond.headers.get('content-type')!, /^application\/json/)
      assert.equal(beyond.headers.get('content-disposition'), null)
      await assertNotStored(beyond, 416, 'RANGE_NOT_SATISFIABLE', '416')

      // The answers that are the file keep the policy that makes caches revalidate them.
      const { id, url } = await client.upload(await picture(), 'dot.png', 'image/png')
      for (const served of [url, `${url}/thumbnail`]) {
        const ok = await fetch(served)
        assert.equal(ok.status, 200)
        assert.equal(ok.headers.get('cache-control'), 'public, no-cache')
        await ok.arrayBuffer()
        const part = await fetch(served, { headers: { range: 'bytes=0-3' } })
        assert.equal(part.status, 206)
        assert.equal(part.headers.get('cache-control'), 'public, no-cache')
        await part.arrayBuffer()
      }
      const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!
      const same = await fetch(url, { headers: { 'if-none-match': etag } })
      assert.equal(same.status, 304)
      assert.equal(same.headers.get('cache-control'), 'public, no-cache')
      // Once deleted, a revalidation gets a 404 no cache keeps.
      assert.equal((await client.remove(id)).statusCode, 204)
      for (const served of [url, `${url}/thumbnail`]) {
        const gone = await fetch(served, { headers: { 'if-none-match': etag } })
        await assertNotStored(gone, 404, 'MEDIA_NOT_FOUND', `deleted ${served}`)
      }
    })

    it('answers 416 when no range of a list is satisfiable, and the whole file when one is', async () => {
      const { url } = await client.upload(PDF, 'doc.pdf', 'application/pdf')
      const size = PDF.length
      for (const range of [
        `bytes=${size}-, ${size + 10}-${size + 20}`,
        'bytes=-0, 99999-',
        `bytes=${size}-${size}, ${size + 1}-`,
        'bytes=9-5, 99999-',
      ]) {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 416, range)
        assert.equal(res.headers.get('content-range'), `bytes */${size}`, range)
        assert.equal((await res.json()).error.code, 'RANGE_NOT_SATISFIABLE', range)
      }
      // One satisfiable range among them: the whole file, as any list is answered.
      for (const range of [`bytes=${size}-, 0-1`, 'bytes=-0, -5', `bytes=99999-, ${size - 1}-`]) {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 200, range)
        assert.equal(res.headers.get('content-range'), null, range)
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(PDF), range)
      }
      // One range alone is as before: 206 when within the file, else 416.
      const one = await fetch(url, { headers: { range: 'bytes=2-5' } })
      assert.equal(one.status, 206)
      assert.equal(one.headers.get('content-range'), `bytes 2-5/${size}`)
      assert.ok(Buffer.from(await one.arrayBuffer()).equals(PDF.subarray(2, 6)))
      for (const range of [`bytes=${size}-`, 'bytes=-0', 'bytes=9-5']) {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 416, range)
        await res.arrayBuffer()
      }
      // HEAD ignores Range; a matching If-None-Match is answered before the Range is read.
      const head = await fetch(url, { method: 'HEAD', headers: { range: `bytes=${size}-, ${size + 1}-` } })
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('content-length'), String(size))
      const etag = head.headers.get('etag')!
      const cached = await fetch(url, {
        headers: { range: `bytes=${size}-, ${size + 1}-`, 'if-none-match': etag },
      })
      assert.equal(cached.status, 304)
    })

    it('reads a Range only while If-Range names the file, else sends it whole', async () => {
      const { url } = await client.upload(PDF, 'doc.pdf', 'application/pdf')
      const head = await fetch(url, { method: 'HEAD' })
      const etag = head.headers.get('etag')!
      const lastModified = head.headers.get('last-modified')!
      for (const ifRange of [etag, lastModified]) {
        const part = await fetch(url, { headers: { range: 'bytes=2-5', 'if-range': ifRange } })
        assert.equal(part.status, 206, ifRange)
        assert.ok(Buffer.from(await part.arrayBuffer()).equals(PDF.subarray(2, 6)), ifRange)
      }
      // Another version (or a weak tag, never a match for If-Range): the whole file, even for a
      // range that would be 416.
      const other = new Date(Date.parse(lastModified) - 60_000).toUTCString()
      for (const ifRange of ['"another"', `W/${etag}`, other, 'not a date']) {
        for (const range of ['bytes=2-5', 'bytes=99999-']) {
          const res = await fetch(url, { headers: { range, 'if-range': ifRange } })
          assert.equal(res.status, 200, `${ifRange} ${range}`)
          assert.equal(res.headers.get('content-range'), null)
          assert.ok(Buffer.from(await res.arrayBuffer()).equals(PDF), `${ifRange} ${range}`)
        }
      }
    })

    it('states the cache policy of the file routes in the OpenAPI document', async () => {
      const res = await ctx.app.inject({ method: 'GET', url: '/docs/openapi.json' })
      assert.equal(res.statusCode, 200)
      const paths = json(res).paths
      for (const path of ['/media/{id}', '/media/{id}/thumbnail']) {
        const responses = paths[path].get.responses
        const what = path
        const said = (status: string, name: string) => responses[status]?.headers?.[name]?.description ?? ''
        for (const status of ['200', '206', '304']) {
          assert.match(said(status, 'cache-control'), /public, no-cache/, `${what} ${status}`)
          assert.ok(said(status, 'etag'), `${what} ${status} etag`)
          assert.ok(said(status, 'last-modified'), `${what} ${status} last-modified`)
        }
        assert.match(said('206', 'content-range'), /bytes first-last\/size/)
        for (const status of ['200', '206']) {
          assert.equal(responses[status].content['*/*'].schema.format, 'binary', `${what} ${status}`)
        }
        assert.match(said('302', 'cache-control'), /private, no-store/)
        for (const status of ['400', '404', '416']) {
          assert.match(said(status, 'cache-control'), /no-store/, `${what} ${status}`)
          assert.ok(responses[status].content['application/json'].schema.$ref, `${what} ${status}`)
        }
        assert.match(said('416', 'content-range'), /bytes \*\/size/)
        assert.match(responses['416'].description, /RANGE_NOT_SATISFIABLE/)
      }
    })
  })

  describe(`media QA 4, S3 (${dialect})`, () => {
    let s3: S3Server
    let ctx: TestContext
    let base: string
    let client: ReturnType<typeof mediaClient>

    before(async () => {
      s3 = await startS3Server('test-secret')
      ctx = await buildTestApp({
        dialect,
        env: s3StorageEnv(s3),
      })
      base = await listenLocally(ctx.app)
      const auth = { authorization: `Bearer ${(await guestToken(ctx.app)).token}` }
      client = mediaClient(ctx, base, auth, await createCampaign(ctx.app))
    })
    after(async () => {
      await ctx?.close()
      await s3?.close()
    })

    it('redirects to a URL presigned for the method asked, with Cache-Control: private, no-store', async () => {
      const png = await picture()
      const { id, url } = await client.upload(png, 'dot.png', 'image/png')
      assert.ok([...s3.objects.keys()].some((key) => key.startsWith('media/') && key.endsWith('/original')))
      for (const method of ['GET', 'HEAD']) {
        for (const served of [url, `${url}/thumbnail`]) {
          const res = await fetch(served, { method, redirect: 'manual' })
          assert.equal(res.status, 302, `${method} ${served}`)
          // The URL expires: no cache may keep the redirect to it.
          assert.equal(res.headers.get('cache-control'), 'private, no-store', `${method} ${served}`)
          const location = res.headers.get('location')!
          assert.ok(location.startsWith(`${s3.endpoint}/media/`), location)
          assert.match(location, /X-Amz-Expires=300/)
          await res.arrayBuffer()
          // Good for the method it was signed for only, as S3 checks it.
          const other = await fetch(location, { method: method === 'GET' ? 'HEAD' : 'GET' })
          assert.equal(other.status, 403, `${method} ${served}`)
          await other.arrayBuffer()
        }
      }
      // The presigned URL serves the stored bytes, typed as the media is.
      const followed = await fetch(url)
      assert.equal(followed.status, 200)
      assert.equal(followed.headers.get('content-type'), 'image/png')
      // Kept by the browser only, revalidated at each use: no CDN serves it after a takedown.
      assert.equal(followed.headers.get('cache-control'), 'private, no-cache')
      assert.equal((await fetch(`${url}/thumbnail`)).headers.get('content-type'), 'image/webp')
      const stored = Buffer.from(await followed.arrayBuffer())
      assert.ok(stored.subarray(0, 8).equals(png.subarray(0, 8)))
      // S3 checks the method a URL was signed for: a HEAD is sent to a URL signed for HEAD.
      for (const served of [url, `${url}/thumbnail`]) {
        const head = await fetch(served, { method: 'HEAD' })
        assert.equal(head.status, 200, served)
        assert.match(head.headers.get('content-type')!, /^image\/(png|webp)$/)
        assert.ok(Number(head.headers.get('content-length')) > 0)
      }
      assert.equal(
        (await fetch(url, { method: 'HEAD' })).headers.get('content-length'),
        String(stored.length),
      )

      // Unknown or deleted: a 404 no cache keeps, as on disk.
      await assertNotStored(await fetch(`${base}/media/${UNKNOWN}`), 404, 'MEDIA_NOT_FOUND', 'unknown')
      assert.equal((await client.remove(id)).statusCode, 204)
      const gone = await fetch(url, { redirect: 'manual' })
      await assertNotStored(gone, 404, 'MEDIA_NOT_FOUND', 'deleted')
      assert.ok(![...s3.objects.keys()].some((key) => key.includes(id)))
    })
  })
}
