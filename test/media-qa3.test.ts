import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import sharp from 'sharp'
import { createCampaign, DIALECTS, json } from './helper.js'
import { mediaSuite, uploadTicket } from './media-fixtures.js'

/** A small picture of one colour in `format`. */
function picture(format: 'png' | 'jpeg') {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
    [format]()
    .toBuffer()
}

for (const dialect of DIALECTS) {
  describe(`media QA 3 (${dialect})`, () => {
    const suite = mediaSuite(dialect)

    const ticket = (data: Record<string, unknown>, campaign = suite.slug) =>
      uploadTicket(suite.app, campaign, suite.auth, data)

    /** Asks for an upload URL, PUTs `bytes` to it, and answers the published media. */
    async function upload(bytes: Buffer, filename: string, contentType: string) {
      const t = await ticket({ filename, content_type: contentType, size: bytes.length })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const res = await fetch(suite.base + t.body.result.upload_url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      })
      const body = await res.json()
      assert.equal(res.status, 200, JSON.stringify(body))
      assert.equal(body.status, 'ready')
      return { id: t.body.result.media_id as string, url: `${suite.base}/media/${t.body.result.media_id}` }
    }

    it('lets caches keep a media only by revalidating it, so a deleted one stops being served', async () => {
      const { id, url } = await upload(await picture('png'), 'dot.png', 'image/png')
      for (const served of [url, `${url}/thumbnail`]) {
        const first = await fetch(served)
        assert.equal(first.status, 200)
        await first.arrayBuffer()
        // Not `immutable` nor a year's freshness: a CDN would go on serving a taken-down file.
        assert.equal(first.headers.get('cache-control'), 'public, no-cache', served)
        const etag = first.headers.get('etag')!
        assert.match(etag, /^"[0-9a-f]{64}(-thumb)?"$/)
        // Revalidating is cheap: a 304 without the bytes, saying the same policy and tag.
        for (const method of ['GET', 'HEAD']) {
          const again = await fetch(served, { method, headers: { 'if-none-match': etag } })
          assert.equal(again.status, 304, `${method} ${served}`)
          assert.equal(again.headers.get('cache-control'), 'public, no-cache')
          assert.equal(again.headers.get('etag'), etag)
          assert.equal((await again.arrayBuffer()).byteLength, 0)
        }
        const byDate = await fetch(served, {
          headers: { 'if-modified-since': first.headers.get('last-modified')! },
        })
        assert.equal(byDate.status, 304)
        assert.equal(byDate.headers.get('cache-control'), 'public, no-cache')
      }
      const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!

      // A takedown: the next revalidation learns the file is gone.
      const removed = await suite.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${suite.slug}/media/${id}`,
        headers: suite.auth,
      })
      assert.equal(removed.statusCode, 204, removed.body)
      for (const served of [url, `${url}/thumbnail`]) {
        const gone = await fetch(served, { headers: { 'if-none-match': etag } })
        assert.equal(gone.status, 404, served)
        assert.equal((await gone.json()).error.code, 'MEDIA_NOT_FOUND')
      }
    })

    it('takes image/jpg and the other common aliases, storing and serving the usual name', async () => {
      const jpeg = await picture('jpeg')
      const { id, url } = await upload(jpeg, 'photo.jpg', 'image/jpg')
      const own = await suite.app.inject({ method: 'GET', url: `/api/media/${id}`, headers: suite.auth })
      assert.equal(json(own).content_type, 'image/jpeg')
      const served = await fetch(url)
      assert.equal(served.status, 200)
      assert.equal(served.headers.get('content-type'), 'image/jpeg')
      assert.ok(
        Buffer.from(await served.arrayBuffer())
          .subarray(0, 2)
          .equals(Buffer.from([0xff, 0xd8])),
      )

      // With parameters and in any case, as the usual names are.
      const png = await upload(await picture('png'), 'old.png', 'Image/X-PNG; charset=binary')
      assert.equal((await fetch(png.url, { method: 'HEAD' })).headers.get('content-type'), 'image/png')
      for (const type of ['image/pjpeg', 'audio/mp3']) {
        const t = await ticket({ filename: 'file', content_type: type })
        assert.equal(t.status, 200, `${type}: ${JSON.stringify(t.body)}`)
      }
      // The bytes must still be what the alias names: a PNG declared image/jpg is refused.
      const t = await ticket({ filename: 'x.jpg', content_type: 'image/jpg' })
      const wrong = await fetch(suite.base + t.body.result.upload_url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(await picture('png')),
      })
      assert.equal(wrong.status, 415)
      assert.equal((await wrong.json()).error.code, 'MEDIA_TYPE_MISMATCH')

      // A campaign's allowed list may name a type by its alias too.
      const only = await createCampaign(suite.app, {
        metadata: { custom_rules: { media_allowed_types: ['image/jpg'] } },
      })
      assert.equal((await ticket({ filename: 'a.jpg', content_type: 'image/jpeg' }, only)).status, 200)
      assert.equal((await ticket({ filename: 'a.jpg', content_type: 'image/jpg' }, only)).status, 200)
      const png415 = await ticket({ filename: 'a.png', content_type: 'image/png' }, only)
      assert.equal(png415.status, 415)
      // Names that are no alias stay refused, as themselves (not a property of some object).
      const odd = await ticket({ filename: 'a', content_type: 'constructor' })
      assert.equal(odd.status, 415)
      assert.equal(odd.body.error.message, 'constructor is not accepted by this campaign')
    })

    it('refuses a file name with nothing visible in it', async () => {
      for (const filename of [' ', '   ', '\t', '\u3000', '\u200b', ' \ufeff ']) {
        const t = await ticket({ filename, content_type: 'image/png' })
        assert.equal(t.status, 400, JSON.stringify(filename))
        assert.equal(t.body.error.code, 'INVALID_FILENAME')
        assert.equal(t.body.error.message, 'File name must not be blank')
      }
      // Spaces around or within a name are the uploader's to choose.
      assert.equal((await ticket({ filename: ' my photo .png', content_type: 'image/png' })).status, 200)
    })

    it('reads a Range with whitespace where the list syntax allows it, and refuses malformed ones', async () => {
      const png = await picture('png')
      const { url } = await upload(png, 'dot.png', 'image/png')
      const partial = async (range: string, start: number, end: number) => {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 206, range)
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${png.length}`, range)
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(png.subarray(start, end + 1)), range)
      }
      await partial('bytes= 0-1', 0, 1)
      await partial('bytes=\t2-5', 2, 5)
      await partial('bytes= -4', png.length - 4, png.length - 1)
      // Empty list elements are ignored (RFC 9110 §5.6.1.2): still one range.
      await partial('bytes=0-1,', 0, 1)
      await partial('bytes=, 3-7 ,', 3, 7)

      // Several ranges, however spaced, are answered with the whole file.
      for (const range of ['bytes=0-1, 5-6', 'bytes=0-1 ,5-6', 'bytes= 0-1\t,\t5-6 ']) {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 200, range)
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(png), range)
      }

      // Malformed, alone or in a list: 416, saying the size.
      for (const range of [
        'bytes=0 -1',
        'bytes=0- 1',
        'bytes=0-1, x-2',
        'bytes=1-2-3',
        'bytes=,',
        'bytes= ',
        'bytes=-',
      ]) {
        const res = await fetch(url, { headers: { range } })
        assert.equal(res.status, 416, range)
        assert.equal(res.headers.get('content-range'), `bytes */${png.length}`, range)
        assert.equal((await res.json()).error.code, 'RANGE_NOT_SATISFIABLE')
      }
    })
  })
}
