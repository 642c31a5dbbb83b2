import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { StorageAdapter } from './storage.js'

/**
 * sharp (libvips), loaded at its first use: most processes (the CLI, a test's app) never decode an
 * image, and loading it costs a tenth of a second. `serve` loads it as it starts (server.ts), so a
 * broken install fails the start, not the first upload.
 */
export const loadSharp = async () => (await import('sharp')).default

/**
 * Decoding limits for images: a small file can declare a huge canvas (sharp's default limit is
 * ~268 megapixels, seconds of CPU per upload); 40 megapixels covers any camera photo.
 */
export const DECODE = { limitInputPixels: 40_000_000 }

/** Where an upload's thumbnail is stored: its row names it only once the upload is ready. */
export const thumbnailKeyOf = (media: { campaign_slug: string; id: string }) =>
  `${media.campaign_slug}/${media.id}/thumbnail.webp`

export interface Thumbnail {
  /** As the image is shown: a photo whose EXIF orientation turns it has its sides swapped. */
  width: number | null
  height: number | null
  /** The 320 px WebP, not yet stored (its bytes count against the quotas before they are). */
  webp: Buffer
}

/**
 * Streams the object at `key` into `transformer` while `result` is produced. A read that fails
 * (the object deleted meanwhile, a storage error) rejects: piped by hand, sharp would wait for
 * the rest of its input for good.
 */
export async function through<T>(
  storage: StorageAdapter,
  key: string,
  transformer: Duplex,
  result: Promise<T>,
) {
  const [value] = await Promise.all([result, pipeline(await storage.read(key), transformer)])
  return value
}

/**
 * Reads the image at `key` for its size and makes a 320 px WebP thumbnail of it, turned upright.
 * Throws when the image cannot be read or decoded (or is over the pixel limit).
 */
export async function makeThumbnail(storage: StorageAdapter, key: string): Promise<Thumbnail> {
  const sharp = await loadSharp()
  const probe = sharp(DECODE)
  const meta = await through(storage, key, probe, probe.metadata())
  const resize = sharp(DECODE).rotate().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).webp()
  const webp = await through(storage, key, resize, resize.toBuffer())
  const shown = meta.autoOrient ?? meta
  return { width: shown.width ?? null, height: shown.height ?? null, webp }
}

/** Stores `bytes` at `key` in one write; nothing is left behind when it fails. */
export async function storeBytes(
  storage: StorageAdapter,
  key: string,
  contentType: string,
  bytes: Buffer,
): Promise<void> {
  const out = await storage.open(key, contentType)
  try {
    await pipeline([bytes], out.stream)
    await out.commit()
  } catch (err) {
    await out.abort().catch(() => {})
    throw err
  }
}
