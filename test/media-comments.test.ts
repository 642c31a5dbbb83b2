import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { before, describe, it } from 'node:test'
import sharp from 'sharp'
import { gifWithoutComments, jpegWithoutComments } from '../src/modules/media/comments.js'
import { DIALECTS } from './helper.js'
import { mediaSuite, publishedUpload } from './media-fixtures.js'

/** Comments and XMP in JPEG and GIF uploads go without the image being re-encoded. */

const SECRET = 'shot at 12 Rue de la Paix'
const has = (file: Buffer, text: string) => file.includes(Buffer.from(text, 'latin1'))
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** A JPEG `COM` segment. */
function com(text: string): Buffer {
  const body = Buffer.from(text, 'latin1')
  const head = Buffer.from([0xff, 0xfe, 0, 0])
  head.writeUInt16BE(2 + body.length, 2)
  return Buffer.concat([head, body])
}
/** `jpeg` with `segments` after its SOI. */
const withSegments = (jpeg: Buffer, ...segments: Buffer[]) =>
  Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)])

/** GIF extensions: a comment, looping, and XMP with its "magic trailer" (XMP spec, part 3). */
const gifComment = (text: string) =>
  Buffer.concat([Buffer.from([0x21, 0xfe, text.length]), Buffer.from(text, 'latin1'), Buffer.from([0])])
const LOOP = Buffer.concat([
  Buffer.from([0x21, 0xff, 11]),
  Buffer.from('NETSCAPE2.0', 'latin1'),
  Buffer.from([3, 1, 0, 0, 0]),
])
const gifXmp = (xmp: string) =>
  Buffer.concat([
    Buffer.from([0x21, 0xff, 11]),
    Buffer.from('XMP DataXMP', 'latin1'),
    Buffer.from(xmp, 'latin1'),
    Buffer.from([1, ...Array.from({ length: 256 }, (_, i) => 255 - i), 0]),
  ])
/** `gif` with `blocks` after its screen descriptor and global colour table. */
function withBlocks(gif: Buffer, ...blocks: Buffer[]): Buffer {
  const at = 13 + (gif[10]! & 0x80 ? 3 * 2 ** ((gif[10]! & 7) + 1) : 0)
  return Buffer.concat([gif.subarray(0, at), ...blocks, gif.subarray(at)])
}

let jpeg: Buffer
let gif: Buffer
before(async () => {
  jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#369' } })
    .jpeg()
    .toBuffer()
  gif = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#f00' } })
    .gif()
    .toBuffer()
})

describe('JPEG comments', () => {
  it('go, and nothing else changes', () => {
    const commented = withSegments(jpeg, com(SECRET), com('second'))
    assert.deepEqual(jpegWithoutComments(commented), jpeg)
  })

  it('leave a JPEG without them, or one whose segments run past its end, as it is', () => {
    assert.equal(jpegWithoutComments(jpeg), undefined)
    const overrun = withSegments(jpeg, com(SECRET))
    overrun.writeUInt16BE(0xfff0, 4)
    assert.equal(jpegWithoutComments(overrun), undefined)
    assert.equal(jpegWithoutComments(withSegments(jpeg, com(SECRET)).subarray(0, 30)), undefined)
    assert.equal(jpegWithoutComments(Buffer.from('not a jpeg')), undefined)
  })
})

describe('GIF comments and XMP', () => {
  it('go, its looping stays', () => {
    const commented = withBlocks(gif, LOOP, gifComment(SECRET), gifXmp('<x:xmpmeta>GPS</x:xmpmeta>'))
    assert.deepEqual(gifWithoutComments(commented), withBlocks(gif, LOOP))
  })

  it('leave a GIF without them, or a truncated one, as it is', () => {
    assert.equal(gifWithoutComments(gif), undefined)
    assert.equal(gifWithoutComments(withBlocks(gif, LOOP)), undefined)
    const commented = withBlocks(gif, gifComment(SECRET))
    assert.equal(gifWithoutComments(commented.subarray(0, commented.length - 1)), undefined)
    assert.equal(gifWithoutComments(Buffer.from('GIF89a')), undefined)
  })
})

for (const dialect of DIALECTS) {
  describe(`images published without their comments (${dialect})`, () => {
    const suite = mediaSuite(dialect)

    /** Uploads `file` as `type`; the answer and the bytes then served. */
    const upload = (bytes: Buffer, type: string) =>
      publishedUpload(suite.app, suite.base, suite.slug, suite.token, { bytes, type, filename: 'img' })

    it('a JPEG whose only metadata is a comment: the comment goes, its pixels are not re-encoded', async () => {
      const { body, served } = await upload(withSegments(jpeg, com(SECRET)), 'image/jpeg')
      assert.deepEqual(served, jpeg)
      assert.equal(body.size, jpeg.length)
      assert.equal(body.sha256, sha256(jpeg))
    })

    it('a GIF: its comments and XMP go, its looping stays, it still gets a thumbnail', async () => {
      const upload_ = withBlocks(gif, LOOP, gifComment(SECRET), gifXmp('<x:xmpmeta>GPS</x:xmpmeta>'))
      const { body, served } = await upload(upload_, 'image/gif')
      assert.deepEqual(served, withBlocks(gif, LOOP))
      assert.equal(has(served, SECRET), false)
      assert.equal(body.size, served.length)
      assert.equal(body.sha256, sha256(served))
      assert.ok(body.thumbnail_url)
    })

    it('a JPEG with EXIF and a comment: re-encoded without either', async () => {
      const exif = await sharp(jpeg)
        .withExifMerge({ IFD3: { GPSMapDatum: 'WGS-84' } })
        .toBuffer()
      const { served } = await upload(withSegments(exif, com(SECRET)), 'image/jpeg')
      assert.equal(has(served, SECRET), false)
      assert.equal(has(served, 'WGS-84'), false)
    })
  })
}
