import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { createCampaign, DIALECTS } from './helper.js'
import { mediaSuite, publishedUpload, uploadTicket } from './media-fixtures.js'

/** One PNG chunk: length, type, data and CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body) >>> 0)
  return Buffer.concat([length, body, crc])
}

/** The chunk types of a PNG, in order. */
function chunkTypes(png: Buffer): string[] {
  const types: string[] = []
  for (let at = 8; at + 8 <= png.length; at += 12 + png.readUInt32BE(at)) {
    types.push(png.toString('latin1', at + 4, at + 8))
  }
  return types
}

/**
 * An animated PNG of two 4×4 frames, as screen recorders, sticker packs and browsers' "save
 * image" write them, carrying a text chunk (the software that made it, or where) and an EXIF one.
 */
function animatedPng(): Buffer {
  const w = 4
  const h = 4
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8
  ihdr[9] = 2
  const frame = (value: number) =>
    deflateSync(
      Buffer.concat(
        Array.from({ length: h }, () => Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, value)])),
      ),
    )
  const actl = Buffer.alloc(8)
  actl.writeUInt32BE(2, 0)
  const fctl = (sequence: number) => {
    const b = Buffer.alloc(26)
    b.writeUInt32BE(sequence, 0)
    b.writeUInt32BE(w, 4)
    b.writeUInt32BE(h, 8)
    b.writeUInt16BE(1, 20)
    b.writeUInt16BE(2, 22)
    return b
  }
  // A minimal little-endian TIFF header with no entries: an EXIF block sharp reports.
  const exif = Buffer.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('acTL', actl),
    chunk('tEXt', Buffer.from('Comment\0taken at 51.5007 N, 0.1246 W', 'latin1')),
    chunk('eXIf', exif),
    chunk('fcTL', fctl(0)),
    chunk('IDAT', frame(10)),
    chunk('fcTL', fctl(1)),
    chunk('fdAT', Buffer.concat([Buffer.from([0, 0, 0, 2]), frame(200)])),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

for (const dialect of DIALECTS) {
  describe(`media QA 28, what a demanding uploader sends (${dialect})`, () => {
    const suite = mediaSuite(dialect)

    async function upload(bytes: Buffer, filename: string, contentType: string) {
      const t = await uploadTicket(suite.app, suite.slug, suite.auth, {
        filename,
        content_type: contentType,
        size: bytes.length,
      })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const put = await fetch(suite.base + t.body.result.upload_url, {
        method: 'PUT',
        body: new Uint8Array(bytes),
      })
      return { status: put.status, body: await put.json() }
    }

    it('takes an animated PNG as the PNG it is, still animated and without its text and EXIF', async () => {
      const apng = animatedPng()
      for (const [filename, type] of [
        ['sticker.png', 'image/png'],
        ['sticker.apng', 'image/apng'],
      ] as const) {
        const put = await upload(apng, filename, type)
        assert.equal(put.status, 200, JSON.stringify(put.body))
        assert.equal(put.body.content_type, 'image/png')
        assert.ok(put.body.thumbnail_url, 'its first frame makes a thumbnail')
        const served = await fetch(`${suite.base}/media/${put.body.media_id}`)
        assert.equal(served.status, 200)
        assert.equal(served.headers.get('content-type'), 'image/png')
        assert.match(served.headers.get('content-disposition')!, /filename="sticker\.a?png"/)
        const bytes = Buffer.from(await served.arrayBuffer())
        const types = chunkTypes(bytes)
        // Every frame is kept (re-encoding would flatten it to the first), the metadata goes.
        assert.deepEqual(types, ['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'IEND'])
        assert.equal(put.body.size, bytes.length)
      }
    })

    it('saves a HEIC photo named like a page under its own extension, as it does a JPEG', async () => {
      const heic = await createCampaign(suite.app, {
        metadata: { custom_rules: { media_allowed_types: ['image/heic'] } },
      })
      // A HEIF written by libheif, branded as a phone's HEIC.
      const photo = Buffer.from(
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3c3' } })
          .avif()
          .toBuffer(),
      )
      photo.write('heic', 8, 'latin1')
      const { body } = await publishedUpload(suite.app, suite.base, heic, suite.token, {
        bytes: photo,
        type: 'image/heic',
        filename: 'invoice.html',
      })
      const served = await fetch(`${suite.base}/media/${body.media_id}`)
      assert.equal(served.status, 200)
      // A browser that saved it as `.html` would open it as a page.
      assert.match(served.headers.get('content-disposition')!, /filename="invoice\.html\.heic"/)
      const named = await publishedUpload(suite.app, suite.base, heic, suite.token, {
        bytes: photo,
        type: 'image/heic',
        filename: 'IMG_0001.HEIC',
      })
      const kept = await fetch(`${suite.base}/media/${named.body.media_id}`)
      assert.match(kept.headers.get('content-disposition')!, /filename="IMG_0001\.HEIC"/)
    })

    it('refuses a form upload at once, saying to send the bytes, and leaves the URL usable', async () => {
      const png = animatedPng()
      const t = await uploadTicket(suite.app, suite.slug, suite.auth, {
        filename: 'a.png',
        content_type: 'image/png',
      })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const url = suite.base + t.body.result.upload_url
      // What many upload libraries send by default: the file inside a multipart/form-data body.
      const form = new FormData()
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'a.png')
      const asForm = await fetch(url, { method: 'PUT', body: form })
      const refused = await asForm.json()
      assert.equal(asForm.status, 415, JSON.stringify(refused))
      assert.equal(refused.error.code, 'FORM_UPLOAD_NOT_ACCEPTED')
      assert.match(refused.error.message, /multipart\/form-data/)
      // Nothing was taken: the same URL then takes the bytes.
      const own = await suite.app.inject({
        method: 'GET',
        url: `/api/media/${t.body.result.media_id}`,
        headers: suite.auth,
      })
      assert.equal(own.json().status, 'pending')
      const raw = await fetch(url, { method: 'PUT', body: new Uint8Array(png) })
      assert.equal(raw.status, 200, await raw.text())
    })
  })
}
