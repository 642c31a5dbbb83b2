import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { ulid } from 'ulid'
import { createUploadSigner } from '../src/modules/media/signing.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  adminHeaders,
  captureFrames,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
  listenLocally,
} from './helper.js'
import { filesUnder, mediaRow as rowOf, openPut, uploadTicket } from './media-fixtures.js'
import { waitUntil } from './realtime/client.js'
import { waitFor } from './wait-for.js'

interface PutResult {
  status?: number
  body?: any
  error?: string
}

/**
 * PUT `body` over a real socket in `chunk`-sized writes. `chunked` drops Content-Length;
 * `abortAfter` destroys the request after that many bytes (a client going away).
 */
function put(
  url: string,
  body: Buffer,
  opts: { chunk?: number; chunked?: boolean; abortAfter?: number; contentLength?: number } = {},
): Promise<PutResult> {
  return new Promise((resolve) => {
    const u = new URL(url)
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' }
    if (!opts.chunked) headers['content-length'] = opts.contentLength ?? body.length
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers })
    let settled = false
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        settled = true
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined })
      })
    })
    req.on('error', (err) => {
      if (!settled) setTimeout(() => !settled && resolve({ error: (err as NodeJS.ErrnoException).code }), 200)
    })
    const size = opts.chunk ?? 64 * 1024
    let offset = 0
    const pump = () => {
      while (offset < body.length) {
        if (opts.abortAfter !== undefined && offset >= opts.abortAfter) {
          setTimeout(() => req.destroy(), 50)
          return
        }
        const piece = body.subarray(offset, offset + size)
        offset += piece.length
        if (!req.write(piece)) {
          req.once('drain', pump)
          return
        }
      }
      req.end()
    }
    pump()
  })
}

describe('upload URL signatures', () => {
  it('accept only the spelling they were issued with (no spare-bit variants)', () => {
    const signer = createUploadSigner('a-secret-long-enough-for-tests-0123456789')
    const id = ulid()
    const token = signer.sign(id, new Date(Date.now() + 60_000))
    assert.equal(signer.verify(token), id)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(token.at(-1)!)
    // The last of 43 characters holds 4 bits of MAC and 2 spare bits: these three decode alike.
    const variants = [1, 2, 3].map(
      (spare) => token.slice(0, -1) + alphabet[(last & ~3) | ((last + spare) & 3)],
    )
    for (const v of variants) {
      assert.deepEqual(
        Buffer.from(v.split('.')[2]!, 'base64url'),
        Buffer.from(token.split('.')[2]!, 'base64url'),
      )
      assert.throws(
        () => signer.verify(v),
        (e: any) => e.code === 'UPLOAD_URL_INVALID',
      )
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`media (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let auth: Record<string, string>
    let sessionId: string
    let slug: string
    const events: RealtimeMessage[] = []
    let png: Buffer

    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      const guest = await guestToken(ctx.app)
      auth = { authorization: `Bearer ${guest.token}` }
      sessionId = guest.session_id
      slug = await createCampaign(ctx.app)
      await captureFrames(ctx.app, (m) => {
        const msg = m as RealtimeMessage
        if (msg.frame.type === 'media_event') events.push(msg)
      })
      // Noise does not compress: about 1.4 MB, so the upload takes many chunks.
      png = await sharp(randomBytes(800 * 600 * 3), { raw: { width: 800, height: 600, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
    })
    after(async () => ctx.close())

    const ticket = (data: Record<string, unknown>, campaign = slug) =>
      uploadTicket(ctx.app, campaign, auth, data)
    const eventsFor = (id: string) => events.filter((e) => e.frame.media_id === id).map((e) => e.frame)

    it('uploads an image with progress events, then serves it, its thumbnail and ranges', async () => {
      const t = await ticket({ filename: 'Été photo.png', content_type: 'image/png', size: png.length })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const { media_id, upload_url, expires_at, max_bytes } = t.body.result
      assert.match(upload_url, /^\/media\/upload\//)
      assert.ok(new Date(expires_at).getTime() > Date.now())
      // The declared size is what the URL takes.
      assert.equal(max_bytes, png.length)

      const res = await put(base + upload_url, png)
      assert.equal(res.status, 200, JSON.stringify(res))
      assert.equal(res.body.status, 'ready')
      assert.equal(res.body.width, 800)
      assert.equal(res.body.height, 600)
      assert.equal(res.body.size, png.length)
      assert.equal(res.body.sha256, createHash('sha256').update(png).digest('hex'))
      assert.equal(res.body.url, `/media/${media_id}`)

      await waitFor(() => eventsFor(media_id).some((e) => e.status === 'ready'))
      const frames = eventsFor(media_id)
      const audience = events.find((e) => e.frame.media_id === media_id)!.audience
      assert.deepEqual(audience, { scope: 'session', campaign: slug, session_id: sessionId })
      const uploading = frames.filter((f) => f.status === 'uploading').map((f) => f.progress as number)
      assert.ok(uploading.length >= 5, `only ${uploading.length} progress events`)
      assert.deepEqual(
        uploading,
        [...uploading].sort((a, b) => a - b),
        'progress only grows',
      )
      assert.equal(uploading.at(-1), 100)
      const order = frames.map((f) => f.status).filter((s, i, all) => s !== all[i - 1])
      assert.deepEqual(order, ['uploading', 'processing', 'ready'])
      const ready = frames.find((f) => f.status === 'ready')!
      assert.equal(ready.url, `/media/${media_id}`)
      assert.equal(ready.thumbnail_url, `/media/${media_id}/thumbnail`)

      const full = await fetch(`${base}/media/${media_id}`)
      assert.equal(full.status, 200)
      assert.equal(full.headers.get('content-type'), 'image/png')
      assert.equal(full.headers.get('x-content-type-options'), 'nosniff')
      assert.equal(full.headers.get('accept-ranges'), 'bytes')
      assert.match(
        full.headers.get('content-disposition')!,
        /^inline; filename="_t_ photo.png"; filename\*=UTF-8''%C3%89t%C3%A9%20photo.png$/,
      )
      assert.ok(Buffer.from(await full.arrayBuffer()).equals(png))

      const part = await fetch(`${base}/media/${media_id}`, { headers: { range: 'bytes=100-199' } })
      assert.equal(part.status, 206)
      assert.equal(part.headers.get('content-range'), `bytes 100-199/${png.length}`)
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(png.subarray(100, 200)))
      const tail = await fetch(`${base}/media/${media_id}`, { headers: { range: 'bytes=-10' } })
      assert.ok(Buffer.from(await tail.arrayBuffer()).equals(png.subarray(png.length - 10)))
      const beyond = await fetch(`${base}/media/${media_id}`, { headers: { range: `bytes=${png.length}-` } })
      assert.equal(beyond.status, 416)
      assert.equal(beyond.headers.get('content-range'), `bytes */${png.length}`)

      const thumb = await fetch(`${base}/media/${media_id}/thumbnail`)
      assert.equal(thumb.headers.get('content-type'), 'image/webp')
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()
      assert.equal(meta.format, 'webp')
      assert.equal(meta.width, 320)

      // Single use.
      const again = await put(base + upload_url, png)
      assert.equal(again.status, 409)
      assert.equal(again.body.error.code, 'UPLOAD_URL_USED')

      const list = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/media`,
        headers: { 'x-api-key': (await import('./helper.js')).ADMIN_KEY },
      })
      assert.ok(json(list).media.some((m: any) => m.media_id === media_id && m.status === 'ready'))
    })

    it('refuses tampered and expired upload URLs with 403', async () => {
      const t = await ticket({ filename: 'a.png', content_type: 'image/png' })
      const url: string = t.body.result.upload_url
      // A character inside the signature: the last base64url character carries two padding bits,
      // so changing it can decode to the same bytes (this flipped A↔B and passed once in 16 runs).
      const at = url.length - 5
      const flipped = url.slice(0, at) + (url[at] === 'x' ? 'Q' : 'x') + url.slice(at + 1)
      const tampered = await put(base + flipped, png.subarray(0, 1000))
      assert.equal(tampered.status, 403)
      assert.equal(tampered.body.error.code, 'UPLOAD_URL_INVALID')
      const otherId = url.replace(/\/media\/upload\/[0-9A-Z]{26}/, `/media/upload/${ulid()}`)
      assert.equal((await put(base + otherId, png.subarray(0, 10))).status, 403)

      const expired = createUploadSigner(ctx.config.JWT_SECRET).sign(ulid(), new Date(Date.now() - 1000))
      const res = await put(`${base}/media/upload/${expired}`, png.subarray(0, 1000))
      assert.equal(res.status, 403)
      assert.equal(res.body.error.code, 'UPLOAD_URL_EXPIRED')
      // The genuine URL still works after those attempts.
      assert.equal((await put(base + url, png)).status, 200)
    })

    it('refuses bytes that are not the declared type (415) and leaves nothing behind', async () => {
      const t = await ticket({ filename: 'doc.png', content_type: 'image/png' })
      const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'), randomBytes(5000)])
      const res = await put(base + t.body.result.upload_url, pdf)
      assert.equal(res.status, 415)
      assert.equal(res.body.error.code, 'MEDIA_TYPE_MISMATCH')
      const id = t.body.result.media_id
      await waitFor(() => eventsFor(id).some((e) => e.status === 'failed'))
      assert.equal(eventsFor(id).find((e) => e.status === 'failed')!.reason, 'type_mismatch')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, id)), [])
      assert.equal((await fetch(`${base}/media/${id}`)).status, 404)
    })

    it('refuses an image that declares more pixels than the decode limit (a small file, a huge canvas)', async () => {
      // 9000 × 5000 of one colour: 45 megapixels in a few hundred kilobytes.
      const bomb = await sharp({ create: { width: 9000, height: 5000, channels: 3, background: '#888' } })
        .png({ compressionLevel: 9 })
        .toBuffer()
      assert.ok(bomb.length < 2 * 1024 * 1024, `${bomb.length} bytes`)
      const t = await ticket({ filename: 'bomb.png', content_type: 'image/png', size: bomb.length })
      const res = await put(base + t.body.result.upload_url, bomb)
      assert.equal(res.status, 422, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'INVALID_IMAGE')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, t.body.result.media_id)), [])
    })

    it("refuses types outside the campaign's allowed list at request time", async () => {
      const only = await createCampaign(ctx.app, {
        metadata: { custom_rules: { media_allowed_types: ['image/png'] } },
      })
      const t = await ticket({ filename: 'clip.mp4', content_type: 'video/mp4' }, only)
      assert.equal(t.status, 415)
      assert.equal(t.body.error.code, 'MEDIA_TYPE_NOT_ALLOWED')
      assert.equal((await ticket({ filename: 'ok.png', content_type: 'image/png' }, only)).status, 200)
    })

    it('refuses names with ../ or control characters', async () => {
      for (const filename of ['../../etc/passwd', 'a\u0001b.png', 'dir/x.png', '..']) {
        const t = await ticket({ filename, content_type: 'image/png' })
        assert.equal(t.status, 400, filename)
        assert.equal(t.body.error.code, 'INVALID_FILENAME')
      }
    })

    it('answers 413 over the size limit and removes the partial file', async () => {
      const small = await createCampaign(ctx.app, {
        metadata: { custom_rules: { media_max_bytes: 100_000 } },
      })
      const early = await ticket({ filename: 'big.png', content_type: 'image/png', size: 200_000 }, small)
      assert.equal(early.status, 413)
      assert.equal(early.body.error.code, 'MEDIA_TOO_LARGE')
      // Said as people read sizes, with the exact figure for programs.
      assert.equal(early.body.error.message, 'File is larger than 97.7 KiB, the largest upload here')
      assert.deepEqual(early.body.error.details, { max_bytes: 100_000 })

      const byHeader = await ticket({ filename: 'big.png', content_type: 'image/png' }, small)
      assert.equal(byHeader.body.result.max_bytes, 100_000)
      const declared = await put(base + byHeader.body.result.upload_url, png)
      assert.equal(declared.status, 413)

      // No Content-Length: the stream itself stops at the limit.
      const byStream = await ticket({ filename: 'big.png', content_type: 'image/png' }, small)
      const id = byStream.body.result.media_id
      const streamed = await put(base + byStream.body.result.upload_url, png, {
        chunked: true,
        chunk: 16 * 1024,
      })
      assert.ok(streamed.status === 413 || streamed.error, JSON.stringify(streamed))
      if (streamed.status) assert.equal(streamed.body.error.code, 'MEDIA_TOO_LARGE')
      await waitFor(() => eventsFor(id).some((e) => e.status === 'failed'))
      assert.equal(eventsFor(id).find((e) => e.status === 'failed')!.reason, 'too_large')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, small, id)), [])
    })

    it('marks a client disconnect mid-upload as failed and leaves nothing behind', async () => {
      const t = await ticket({ filename: 'cut.png', content_type: 'image/png' })
      const id = t.body.result.media_id
      const res = await put(base + t.body.result.upload_url, png, { abortAfter: 300_000, chunk: 32 * 1024 })
      assert.ok(res.error, 'the client went away')
      await waitFor(() => eventsFor(id).some((e) => e.status === 'failed'))
      const frames = eventsFor(id)
      assert.ok(frames.some((f) => f.status === 'uploading'))
      assert.equal(frames.find((f) => f.status === 'failed')!.reason, 'client_disconnected')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, id)), [])
    })

    /** What an operator's hard delete does: the row goes, and every node's campaign cache is told. */
    async function deleteCampaign(campaign: string) {
      await ctx.app.platform.database.db
        .deleteFrom('service_campaign_main')
        .where('slug', '=', campaign)
        .execute()
      await ctx.app.platform.bus.publish('ovasabi:campaign:changed', { slug: campaign })
      for (let i = 0; ; i++) {
        const res = await ctx.app.inject({ url: `/api/campaign/${campaign}`, headers: adminHeaders })
        if (res.statusCode === 404) return
        if (i > 200) throw new Error('the campaign cache never heard of the deletion')
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    const mediaRow = (id: string) => rowOf(ctx.app.platform.database.db, id)

    it('fails an upload whose campaign was deleted before its bytes came, keeping none', async () => {
      const doomed = await createCampaign(ctx.app)
      const t = await ticket({ filename: 'late.png', content_type: 'image/png' }, doomed)
      await deleteCampaign(doomed)
      const res = await put(base + t.body.result.upload_url, png.subarray(0, 2000))
      assert.equal(res.status, 404, JSON.stringify(res))
      assert.equal(res.body.error.code, 'CAMPAIGN_NOT_FOUND')
      const row = await mediaRow(t.body.result.media_id)
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'campaign_deleted')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, doomed)), [])
    })

    it('fails an upload whose campaign is deleted mid-flow instead of leaving it processing', async () => {
      const doomed = await createCampaign(ctx.app)
      const t = await ticket({ filename: 'mid.png', content_type: 'image/png' }, doomed)
      const id = t.body.result.media_id
      const { req, answer } = openPut(base + t.body.result.upload_url, 'application/octet-stream', png.length)
      req.write(png.subarray(0, 64 * 1024))
      // The URL is claimed and bytes are streaming when the campaign goes.
      await waitUntil(async () => (await mediaRow(id)).status === 'uploading', 10_000, 'the upload to start')
      await deleteCampaign(doomed)
      req.end(png.subarray(64 * 1024))
      const res = await answer
      assert.equal(res.status, 404, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'CAMPAIGN_NOT_FOUND')
      const row = await mediaRow(id)
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'campaign_deleted')
      await waitFor(() => eventsFor(id).some((e) => e.status === 'failed'))
      assert.equal(eventsFor(id).find((e) => e.status === 'failed')!.reason, 'campaign_deleted')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, doomed)), [])
    })

    it('accepts Ogg Opus declared as audio/ogg (the type is sniffed without its parameters)', async () => {
      // An Ogg page holding an OpusHead packet: what Firefox's MediaRecorder and voice notes make.
      const page = Buffer.alloc(28)
      page.write('OggS', 0, 'latin1')
      page[5] = 0x02 // first page of the stream
      page[26] = 1 // one segment…
      page[27] = 19 // …of 19 bytes
      const head = Buffer.concat([
        Buffer.from('OpusHead', 'latin1'),
        Buffer.from([1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]),
      ])
      const ogg = Buffer.concat([page, head, randomBytes(4000)])
      const t = await ticket({ filename: 'voice.ogg', content_type: 'audio/ogg', size: ogg.length })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const res = await put(base + t.body.result.upload_url, ogg)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.equal(res.body.content_type, 'audio/ogg')
      const served = await fetch(`${base}/media/${t.body.result.media_id}`)
      assert.equal(served.headers.get('content-type'), 'audio/ogg')
      assert.equal(Buffer.from(await served.arrayBuffer()).length, ogg.length)
    })

    it('reports the size a photo is shown at when its EXIF orientation turns it', async () => {
      // Stored 400 × 200, shown 200 × 400 (orientation 6: turned a quarter clockwise), as phones do.
      const jpeg = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#369' } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer()
      const t = await ticket({ filename: 'portrait.jpg', content_type: 'image/jpeg', size: jpeg.length })
      const res = await put(base + t.body.result.upload_url, jpeg)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.deepEqual([res.body.width, res.body.height], [200, 400])
      const thumb = await sharp(
        Buffer.from(await (await fetch(`${base}/media/${t.body.result.media_id}/thumbnail`)).arrayBuffer()),
      ).metadata()
      assert.deepEqual([thumb.width, thumb.height], [160, 320], 'the thumbnail is upright too')
    })

    const tinyPng = () =>
      sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
        .png()
        .toBuffer()

    it('publishes a photo without its EXIF: no GPS position, turned upright, its colour profile kept', async () => {
      // Stored 400 × 200 with a red left edge, shown 200 × 400 (orientation 6) as phones write it,
      // with where it was taken, who took it and a Display P3 profile.
      const pixels = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#369' } })
        .composite([
          {
            input: { create: { width: 100, height: 200, channels: 3, background: '#f00' } },
            left: 0,
            top: 0,
          },
        ])
        .png()
        .toBuffer()
      const photo = await sharp(pixels)
        .jpeg({ quality: 90 })
        .withMetadata({ orientation: 6 })
        .withExifMerge({
          IFD0: { Artist: 'Erin Example' },
          IFD3: {
            GPSMapDatum: 'WGS-84',
            GPSLatitudeRef: 'N',
            GPSLatitude: '48/1 51/1 2981/100',
            GPSLongitudeRef: 'E',
            GPSLongitude: '2/1 17/1 4035/100',
          },
        })
        .withIccProfile('p3')
        .toBuffer()
      const sent = await sharp(photo).metadata()
      assert.equal(sent.orientation, 6)
      assert.ok(sent.exif?.toString('latin1').includes('WGS-84'), 'the test photo carries a GPS IFD')
      assert.ok(photo.toString('latin1').includes('Erin Example'))

      const t = await ticket({ filename: 'holiday.jpg', content_type: 'image/jpeg', size: photo.length })
      const res = await put(base + t.body.result.upload_url, photo)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      const served = await fetch(`${base}/media/${t.body.result.media_id}`)
      assert.equal(served.status, 200)
      const bytes = Buffer.from(await served.arrayBuffer())
      const meta = await sharp(bytes).metadata()
      assert.equal(meta.format, 'jpeg')
      assert.equal(meta.exif, undefined, 'no EXIF (GPS, author, camera) is served')
      assert.equal(meta.xmp, undefined)
      assert.equal(meta.orientation, undefined)
      for (const text of ['WGS-84', 'Erin Example']) assert.ok(!bytes.toString('latin1').includes(text), text)
      // Upright in its pixels, since the tag that turned it is gone: the red edge is now on top.
      assert.deepEqual([meta.width, meta.height], [200, 400])
      const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true })
      const [r, g, b] = [data[0]!, data[1]!, data[2]!]
      assert.ok(r > 200 && g < 60 && b < 60, `top-left pixel ${[r, g, b]}`)
      const bottomLeft = (400 - 1) * 200 * 3
      assert.ok(data[bottomLeft]! < 120, 'the bottom is the blue of the rest')
      assert.ok(meta.icc?.equals(sent.icc!), 'the colour profile is kept')
      // What the client is told describes what is served: its size, its SHA-256, its ETag.
      assert.equal(res.body.size, bytes.length)
      assert.equal(res.body.sha256, createHash('sha256').update(bytes).digest('hex'))
      assert.notEqual(res.body.sha256, createHash('sha256').update(photo).digest('hex'))
      assert.equal(served.headers.get('etag'), `"${res.body.sha256}"`)
      assert.deepEqual([res.body.width, res.body.height], [200, 400])
    })

    it('answers a conditional request with 304 while the copy the client holds is current', async () => {
      const small = await tinyPng()
      const t = await ticket({ filename: 'dot.png', content_type: 'image/png' })
      assert.equal((await put(base + t.body.result.upload_url, small)).status, 200)
      const url = `${base}/media/${t.body.result.media_id}`
      const first = await fetch(url)
      const etag = first.headers.get('etag')!
      const lastModified = first.headers.get('last-modified')!
      assert.match(etag, /^"[0-9a-f]{64}"$/)
      assert.ok(Date.parse(lastModified) <= Date.now())
      for (const tag of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
        const res = await fetch(url, { headers: { 'if-none-match': tag } })
        assert.equal(res.status, 304, tag)
        assert.equal(res.headers.get('etag'), etag)
        assert.equal(res.headers.get('cache-control'), first.headers.get('cache-control'))
        assert.equal((await res.arrayBuffer()).byteLength, 0)
      }
      const stale = await fetch(url, { headers: { 'if-none-match': '"stale"' } })
      assert.equal(stale.status, 200)
      assert.ok(Buffer.from(await stale.arrayBuffer()).equals(small))
      // Before a Range: what the client holds is whole and current.
      const ranged = await fetch(url, { headers: { 'if-none-match': etag, range: 'bytes=0-3' } })
      assert.equal(ranged.status, 304)
      const head = await fetch(url, { method: 'HEAD', headers: { 'if-none-match': etag } })
      assert.equal(head.status, 304)

      // If-Modified-Since, by the Last-Modified sent; not when If-None-Match is there to decide.
      assert.equal((await fetch(url, { headers: { 'if-modified-since': lastModified } })).status, 304)
      const later = new Date(Date.parse(lastModified) + 60_000).toUTCString()
      assert.equal((await fetch(url, { headers: { 'if-modified-since': later } })).status, 304)
      const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString()
      assert.equal((await fetch(url, { headers: { 'if-modified-since': earlier } })).status, 200)
      assert.equal((await fetch(url, { headers: { 'if-modified-since': 'yesterday' } })).status, 200)
      const both = { 'if-none-match': '"stale"', 'if-modified-since': lastModified }
      assert.equal((await fetch(url, { headers: both })).status, 200)

      // The thumbnail has a tag of its own.
      const thumb = await fetch(`${url}/thumbnail`)
      const thumbTag = thumb.headers.get('etag')!
      assert.notEqual(thumbTag, etag)
      assert.equal((await fetch(`${url}/thumbnail`, { headers: { 'if-none-match': thumbTag } })).status, 304)
      assert.equal((await fetch(`${url}/thumbnail`, { headers: { 'if-none-match': etag } })).status, 200)
    })

    it('answers HEAD with the headers a GET would have, and no body', async () => {
      const small = await tinyPng()
      const t = await ticket({ filename: 'dot.png', content_type: 'image/png' })
      assert.equal((await put(base + t.body.result.upload_url, small)).status, 200)
      const url = `${base}/media/${t.body.result.media_id}`
      const get = await fetch(url)
      await get.arrayBuffer()
      for (const head of [
        await fetch(url, { method: 'HEAD' }),
        await fetch(url, { method: 'HEAD', headers: { range: 'bytes=0-3' } }),
      ]) {
        assert.equal(head.status, 200)
        assert.equal(head.headers.get('content-length'), String(small.length))
        for (const name of [
          'content-type',
          'etag',
          'last-modified',
          'accept-ranges',
          'content-disposition',
        ]) {
          assert.equal(head.headers.get(name), get.headers.get(name), name)
        }
        assert.equal((await head.arrayBuffer()).byteLength, 0)
      }
      const thumb = await fetch(`${url}/thumbnail`, { method: 'HEAD' })
      assert.equal(thumb.status, 200)
      assert.equal(thumb.headers.get('content-type'), 'image/webp')
      assert.ok(Number(thumb.headers.get('content-length')) > 0)
    })

    it('ignores a Range in another unit, and reads the bytes unit in any case', async () => {
      const small = await tinyPng()
      const t = await ticket({ filename: 'dot.png', content_type: 'image/png' })
      assert.equal((await put(base + t.body.result.upload_url, small)).status, 200)
      const url = `${base}/media/${t.body.result.media_id}`
      const other = await fetch(url, { headers: { range: 'items=0-1' } })
      assert.equal(other.status, 200, 'a unit it does not know is ignored, not 416')
      assert.ok(Buffer.from(await other.arrayBuffer()).equals(small))
      const upper = await fetch(url, { headers: { range: 'Bytes=0-3' } })
      assert.equal(upper.status, 206, 'range units are case-insensitive')
      assert.equal(upper.headers.get('content-range'), `bytes 0-3/${small.length}`)
      assert.ok(Buffer.from(await upper.arrayBuffer()).equals(small.subarray(0, 4)))
      assert.equal((await fetch(url, { headers: { range: 'bytes=9999-' } })).status, 416)
    })

    it('names a download with the extension of the type it really is', async () => {
      const small = await tinyPng()
      const t = await ticket({ filename: 'page.html', content_type: 'image/png' })
      assert.equal((await put(base + t.body.result.upload_url, small)).status, 200)
      const url = `${base}/media/${t.body.result.media_id}`
      // Saved as page.html, these bytes would open as a page: the served type's extension is added.
      assert.match((await fetch(url)).headers.get('content-disposition')!, /filename="page\.html\.png"/)
      assert.match(
        (await fetch(`${url}/thumbnail`)).headers.get('content-disposition')!,
        /filename="page\.html\.webp"/,
      )
      const fine = await ticket({ filename: 'Logo.PNG', content_type: 'image/png' })
      assert.equal((await put(base + fine.body.result.upload_url, small)).status, 200)
      const kept = await fetch(`${base}/media/${fine.body.result.media_id}`)
      assert.match(kept.headers.get('content-disposition')!, /filename="Logo\.PNG"/)
    })

    it('refuses the action when the campaign has no media feature', async () => {
      const off = await createCampaign(ctx.app, { features: ['analytics'] })
      const t = await ticket({ filename: 'x.png', content_type: 'image/png' }, off)
      assert.equal(t.status, 403)
      assert.equal(t.body.error.code, 'FEATURE_DISABLED')
    })
  })
}
