import { createHash } from 'node:crypto'
import { buffer } from 'node:stream/consumers'
import type { Metadata, Sharp } from 'sharp'
import { gifWithoutComments, jpegWithoutComments, pngWithoutText } from './comments.js'
import type { StorageAdapter } from './storage.js'
import { DECODE, loadSharp, through } from './thumbnail.js'

/**
 * Images published without their metadata: those sharp both reads and writes back in their own
 * format, and GIF, whose comments and XMP go without re-encoding it (which would cost its palette
 * and timing; it carries no EXIF), as do an animated PNG's chunks (sharp would keep one frame; it
 * is stored as `image/png`, see `media.rules.ts`). HEIC is not decoded by the libvips sharp ships
 * (HEVC), so it cannot be cleaned.
 */
export const STRIPPED_TYPES = new Set([
  'image/jpeg',
  'image/png',
  'image/apng',
  'image/webp',
  'image/avif',
  'image/gif',
])

export interface Stripped {
  bytes: Buffer
  sha256: string
}

/** Whether an image says more than its pixels and colours: where, when and with what it was taken. */
function carriesMetadata(meta: Metadata): boolean {
  return Boolean(
    meta.exif ||
      meta.xmp ||
      meta.iptc ||
      meta.tifftagPhotoshop ||
      (meta.comments?.length ?? 0) > 0 ||
      (meta.orientation ?? 1) !== 1,
  )
}

/**
 * The image at `key` (of `type`, one of `STRIPPED_TYPES`) re-encoded without its EXIF (GPS
 * position, time, camera and its serial), XMP, IPTC and PNG text, turned upright first (its
 * orientation is EXIF too), its ICC colour profile kept. A JPEG with comments only, and a GIF,
 * lose what they carry without being re-encoded (see `comments.ts`). Undefined when it carries
 * none of these: it is then published byte for byte as uploaded, without a generation of loss.
 * Throws when the image cannot be read or decoded (or is over the pixel limit).
 */
export async function withoutMetadata(
  storage: StorageAdapter,
  key: string,
  type: string,
): Promise<Stripped | undefined> {
  if (type === 'image/gif') return lossless(storage, key, gifWithoutComments)
  if (type === 'image/apng') return lossless(storage, key, pngWithoutText)
  const sharp = await loadSharp()
  const probe = sharp(DECODE)
  const meta = await through(storage, key, probe, probe.metadata())
  // sharp does not report a JPEG's comments: one with no other metadata loses them as it is.
  if (!carriesMetadata(meta)) {
    return type === 'image/jpeg' ? lossless(storage, key, jpegWithoutComments) : undefined
  }
  const orientation = meta.orientation ?? 1
  const animated = (meta.pages ?? 1) > 1
  let image = sharp({ ...DECODE, animated }).keepIccProfile()
  // libvips turns no animation: one keeps its orientation, as the only tag of a new EXIF.
  if (!animated) image = image.rotate()
  else if (orientation !== 1) image = image.withExif({ IFD0: { Orientation: String(orientation) } })
  image = encode(image, type, meta)
  const bytes = await through(storage, key, image, image.toBuffer())
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') }
}

/** The image at `key` without what `strip` drops, as it is otherwise; undefined if nothing goes. */
async function lossless(
  storage: StorageAdapter,
  key: string,
  strip: (bytes: Buffer) => Buffer | undefined,
): Promise<Stripped | undefined> {
  const bytes = strip(await buffer(await storage.read(key)))
  return bytes && { bytes, sha256: createHash('sha256').update(bytes).digest('hex') }
}

/**
 * The same format again: PNG losslessly, the others at a quality that hides the generation (a
 * lossless WebP, which sharp cannot tell from a lossy one, comes back lossy).
 */
function encode(image: Sharp, type: string, meta: Metadata): Sharp {
  switch (type) {
    case 'image/jpeg':
      return image.jpeg({
        quality: 92,
        progressive: meta.isProgressive,
        chromaSubsampling: meta.chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0',
      })
    case 'image/png':
      return image.png()
    case 'image/webp':
      return image.webp({ quality: 92 })
    case 'image/avif':
      return image.avif({ quality: 70 })
    default:
      throw new Error(`cannot re-encode ${type}`)
  }
}
