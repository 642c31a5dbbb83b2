import { pipeline } from 'node:stream/promises'
import sharp from 'sharp'
import type { StorageAdapter } from './storage.js'

/**
 * Decoding limits for thumbnails: a small file can declare a huge canvas (sharp's default limit is
 * ~268 megapixels, seconds of CPU per upload); 40 megapixels covers any camera photo.
 */
const DECODE = { limitInputPixels: 40_000_000 }

/**
 * Reads the image at `key` for its size and writes a 320 px WebP thumbnail at `thumbnailKey`.
 * Throws when the image cannot be decoded (or is over the pixel limit); the caller cleans up.
 */
export async function makeThumbnail(
  storage: StorageAdapter,
  key: string,
  thumbnailKey: string,
): Promise<{ width: number | null; height: number | null }> {
  const meta = await (await storage.read(key)).pipe(sharp(DECODE)).metadata()
  const thumb = await storage.open(thumbnailKey, 'image/webp')
  try {
    await pipeline(
      await storage.read(key),
      sharp(DECODE).rotate().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).webp(),
      thumb.stream,
    )
    await thumb.commit()
  } catch (err) {
    await thumb.abort().catch(() => {})
    throw err
  }
  return { width: meta.width ?? null, height: meta.height ?? null }
}
