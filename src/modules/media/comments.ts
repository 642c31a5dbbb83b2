/**
 * Text an image carries beside its pixels, dropped without re-encoding it: JPEG comments (`COM`),
 * GIF comment and application extensions (XMP, Photoshop's IPTC), and an animated PNG's text and
 * EXIF chunks (re-encoding one would keep its first frame only). Each function answers the
 * file without them, or undefined when it has none or is not laid out as it should be (then it
 * is published as it was, never cut on a guess).
 */

/** Markers without a length: TEM and the restart markers. */
const standalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)

/** `jpeg` without its `COM` segments before the image data (where encoders and editors put them). */
export function jpegWithoutComments(jpeg: Buffer): Buffer | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined
  const kept: Buffer[] = []
  let from = 0
  for (let at = 2; at + 2 <= jpeg.length; ) {
    if (jpeg[at] !== 0xff) return undefined
    const marker = jpeg[at + 1]!
    // A fill byte before a marker.
    if (marker === 0xff) {
      at++
      continue
    }
    // The image data (or its end): no segment past here is read.
    if (marker === 0xda || marker === 0xd9) {
      if (kept.length === 0) return undefined
      kept.push(jpeg.subarray(from))
      return Buffer.concat(kept)
    }
    if (standalone(marker)) {
      at += 2
      continue
    }
    if (at + 4 > jpeg.length) return undefined
    const length = jpeg.readUInt16BE(at + 2)
    if (length < 2 || at + 2 + length > jpeg.length) return undefined
    if (marker === 0xfe) {
      kept.push(jpeg.subarray(from, at))
      from = at + 2 + length
    }
    at += 2 + length
  }
  return undefined
}

/** Application extensions that are part of the picture: its looping and its colour profile. */
const PICTURE_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0', 'ICCRGBG1012'])

/** Where the data sub-blocks starting at `at` end (past their zero-length terminator), or -1. */
function pastSubBlocks(gif: Buffer, at: number): number {
  for (let p = at; p < gif.length; p += 1 + gif[p]!) {
    if (gif[p] === 0) return p + 1
  }
  return -1
}

/** A colour table's bytes, from the packed field that announces it. */
const colourTable = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0)

/**
 * `gif` without its comment extensions and its application extensions other than looping and
 * the colour profile (XMP, which may hold a GPS position, Photoshop's IPTC and resources).
 */
export function gifWithoutComments(gif: Buffer): Buffer | undefined {
  if (gif.length < 13 || !/^GIF8[79]a$/.test(gif.toString('latin1', 0, 6))) return undefined
  const kept: Buffer[] = []
  let from = 0
  let at = 13 + colourTable(gif[10]!)
  for (;;) {
    if (at >= gif.length) return undefined
    const block = gif[at]
    if (block === 0x3b) break
    let end: number
    if (block === 0x2c) {
      // An image: its descriptor, its local colour table, its LZW code size, then its data.
      if (at + 10 > gif.length) return undefined
      end = pastSubBlocks(gif, at + 10 + colourTable(gif[at + 9]!) + 1)
    } else if (block === 0x21 && at + 2 < gif.length) {
      end = pastSubBlocks(gif, at + 2)
      const label = gif[at + 1]
      const app = label === 0xff && gif[at + 2] === 11 ? gif.toString('latin1', at + 3, at + 14) : ''
      if (end > 0 && (label === 0xfe || (label === 0xff && !PICTURE_APPS.has(app)))) {
        kept.push(gif.subarray(from, at))
        from = end
      }
    } else {
      return undefined
    }
    if (end < 0) return undefined
    at = end
  }
  if (kept.length === 0) return undefined
  kept.push(gif.subarray(from))
  return Buffer.concat(kept)
}

/** PNG chunks that describe the picture rather than draw it: text (XMP is `iTXt`) and EXIF. */
const PNG_METADATA = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf'])
const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])

/** `png` up to its `IEND`, without its text and EXIF chunks (where a GPS position may be). */
export function pngWithoutText(png: Buffer): Buffer | undefined {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined
  const kept: Buffer[] = []
  let from = 0
  for (let at = 8; at + 12 <= png.length; ) {
    const end = at + 12 + png.readUInt32BE(at)
    if (end > png.length) return undefined
    const type = png.toString('latin1', at + 4, at + 8)
    if (type === 'IEND') {
      // Bytes after the end are no part of the picture either.
      if (kept.length === 0 && end === png.length) return undefined
      kept.push(png.subarray(from, end))
      return Buffer.concat(kept)
    }
    if (PNG_METADATA.has(type)) {
      kept.push(png.subarray(from, at))
      from = end
    }
    at = end
  }
  return undefined
}
