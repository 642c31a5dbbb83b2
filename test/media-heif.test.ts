// HEIF/HEIC photos (which no bundled decoder re-encodes) are published without their EXIF (GPS
// position, time, camera) and XMP: those items' bytes are zeroed in place, wherever `iloc` puts
// them (`mdat` or `idat`), so the picture, every offset and the size stay as they were.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import sharp from 'sharp'
import { locationBoxes, neutraliser } from '../src/modules/media/bmff.js'
import { box, fullBox, ftyp, itunesMeta, mdat, POSITION } from './fixtures/media-bmff.js'
import { DIALECTS } from './helper.js'
import { mediaSuite, publishedUpload } from './media-fixtures.js'

const u16 = (n: number) => Buffer.from([n >> 8, n & 255])
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const text = (s: string) => Buffer.from(`${s}\0`, 'latin1')
const has = (file: Buffer, s: string) => file.includes(Buffer.from(s, 'latin1'))
const walk = (file: Buffer) => locationBoxes(async (o, l) => file.subarray(o, o + l), file.length)
const clean = async (file: Buffer) => {
  const edits = await walk(file)
  assert.ok(edits)
  return buffer(Readable.from([file.subarray(0, 100), file.subarray(100)]).pipe(neutraliser(edits)))
}

const EXIF = Buffer.concat([u32(6), Buffer.from('MM\0*\0\0\0\x08GPSLatitude 51/1 30/1 N', 'latin1')])
const XMP = '<x:xmpmeta><rdf:Description exif:GPSLatitude="51,30.0N"/></x:xmpmeta>'
const PIXELS = Buffer.alloc(64, 0x5a)

const hdlr = (handler: string) =>
  fullBox('hdlr', [u32(0), Buffer.from(handler, 'latin1'), Buffer.alloc(12), text('')])
/** `infe` version 2: id, protection index, type, name (and a `mime` item's content type). */
const infe = (id: number, type: string, contentType?: string) =>
  box('infe', [
    Buffer.from([2, 0, 0, 0]),
    u16(id),
    u16(0),
    Buffer.from(type, 'latin1'),
    text(''),
    ...(contentType ? [text(contentType)] : []),
  ])
/** `iloc` version 1, 4-byte offsets and lengths, no base offset: [id, method, offset, length]. */
const iloc = (items: Array<[number, number, number, number]>) =>
  box('iloc', [
    Buffer.from([1, 0, 0, 0, 0x44, 0x00]),
    u16(items.length),
    ...items.map(([id, method, offset, length]) =>
      Buffer.concat([u16(id), u16(method), u16(0), u16(1), u32(offset), u32(length)]),
    ),
  ])

/**
 * A HEIC photo: its picture and EXIF in `mdat`, its XMP in `idat` (construction method 1).
 * Built twice: the second time with the offsets the first layout gives.
 */
function heic(exifLength = EXIF.length) {
  const build = (pictureAt: number, exifAt: number) => {
    const meta = fullBox('meta', [
      hdlr('pict'),
      fullBox('pitm', u16(1)),
      fullBox('iinf', [u16(3), infe(1, 'hvc1'), infe(2, 'Exif'), infe(3, 'mime', 'application/rdf+xml')]),
      iloc([
        [1, 0, pictureAt, PIXELS.length],
        [2, 0, exifAt, exifLength],
        [3, 1, 0, XMP.length],
      ]),
      box('idat', Buffer.from(XMP, 'latin1')),
    ])
    const head = Buffer.concat([ftyp('heic'), meta])
    return { file: Buffer.concat([head, box('mdat', [PIXELS, EXIF])]), mdatAt: head.length + 8 }
  }
  const { mdatAt } = build(0, 0)
  const { file } = build(mdatAt, mdatAt + PIXELS.length)
  return { file, pictureAt: mdatAt, exifAt: mdatAt + PIXELS.length, xmpAt: file.indexOf(XMP, 0, 'latin1') }
}

describe('a HEIF image walked for its metadata items', () => {
  it('zeroes the EXIF item in mdat and the XMP item in idat, and nothing else', async () => {
    const { file, pictureAt, exifAt, xmpAt } = heic()
    assert.deepEqual(await walk(file), [
      { start: xmpAt, end: xmpAt + XMP.length, keep: 0, type: 'XMP', data: true },
      { start: exifAt, end: exifAt + EXIF.length, keep: 0, type: 'Exif', data: true },
    ])
    const out = await clean(file)
    assert.equal(out.length, file.length)
    assert.ok(has(file, 'GPSLatitude'))
    assert.ok(!has(out, 'GPSLatitude'))
    assert.ok(out.subarray(exifAt, exifAt + EXIF.length).every((b) => b === 0))
    assert.ok(out.subarray(xmpAt, xmpAt + XMP.length).every((b) => b === 0))
    // Everything else, the picture and every box header included, byte for byte.
    const rest = (f: Buffer) =>
      Buffer.concat([
        f.subarray(0, xmpAt),
        f.subarray(xmpAt + XMP.length, exifAt),
        f.subarray(exifAt + EXIF.length),
      ])
    assert.ok(rest(out).equals(rest(file)))
    assert.ok(out.subarray(pictureAt, pictureAt + PIXELS.length).equals(PIXELS))
  })

  it('leaves a file whose item runs past the end as it was', async () => {
    const { file } = heic(EXIF.length + 1000)
    assert.equal(await walk(file), undefined)
  })

  it('still frees a file-level meta that is not an image (an iTunes item list with a position)', async () => {
    const meta = itunesMeta()
    const file = Buffer.concat([ftyp(), meta, mdat(64)])
    assert.ok(has(file, POSITION))
    const out = await clean(file)
    assert.ok(!has(out, POSITION))
    assert.equal(out.length, file.length)
  })
})

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

for (const dialect of DIALECTS) {
  describe(`HEIC photos published without their EXIF and XMP (${dialect})`, () => {
    const suite = mediaSuite(dialect, {
      campaign: { metadata: { custom_rules: { media_allowed_types: ['image/heic'] } } },
    })

    it('serves a phone-style photo the same size, its EXIF zeroed, its XMP gone, its picture intact', async () => {
      // A real HEIF written by libheif (AV1-coded: the bundled codec), branded as a phone's HEIC.
      const photo = Buffer.from(
        await sharp({ create: { width: 32, height: 24, channels: 3, background: '#3c3' } })
          .avif()
          .withExif({
            IFD0: { Make: 'TestCam' },
            IFD3: {
              GPSLatitudeRef: 'N',
              GPSLatitude: '51/1 30/1 0/1',
              GPSLongitudeRef: 'W',
              GPSLongitude: '0/1 7/1 0/1',
            },
          })
          .withXmp(XMP)
          .toBuffer(),
      )
      photo.write('heic', 8, 'latin1')
      assert.ok(has(photo, 'TestCam') && has(photo, 'GPSLatitude'))

      const { body, served } = await publishedUpload(suite.app, suite.base, suite.slug, suite.token, {
        bytes: photo,
        type: 'image/heic',
        filename: 'IMG_0001.HEIC',
      })

      assert.equal(served.length, photo.length)
      assert.equal(body.size, photo.length)
      assert.equal(body.sha256, sha256(served))
      assert.ok(!has(served, 'TestCam'))
      assert.ok(!has(served, 'GPSLatitude'))
      const meta = await sharp(served).metadata()
      assert.ok(
        meta.exif?.every((b) => b === 0),
        'EXIF bytes zeroed',
      )
      assert.equal(meta.width, 32)
      // The picture decodes as it did.
      const pixels = (f: Buffer) => sharp(f).raw().toBuffer()
      assert.ok((await pixels(served)).equals(await pixels(photo)))
    })
  })
}
