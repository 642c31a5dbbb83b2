import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { pipeline } from 'node:stream/promises'
import { locationBoxes, neutraliser, type ReadAt } from './bmff.js'
import type { StorageAdapter } from './storage.js'

/**
 * Recordings and photos published without where they were made: the types `file-type` detects
 * as ISO base media (MP4, QuickTime, 3GP, M4V; M4A, which voice memos fill the same way; and
 * HEIF/HEIC photos, which no bundled decoder can re-encode), whichever of them a campaign accepts.
 */
export const LOCATED_TYPES = new Set([
  'video/mp4',
  'video/quicktime',
  'video/3gpp',
  'video/3gpp2',
  'video/x-m4v',
  'audio/mp4',
  'audio/x-m4a',
  'image/heic',
  'image/heif',
  'image/heic-sequence',
  'image/heif-sequence',
])

/** How much one read of the walk takes: a movie's boxes come in few reads, `mdat` is skipped. */
const BLOCK = 64 * 1024

/** Reads of the object at `key` (`size` bytes) by range, a block at a time. */
function rangeReader(storage: StorageAdapter, key: string, size: number): ReadAt {
  let block: { start: number; bytes: Buffer } = { start: 0, bytes: Buffer.alloc(0) }
  return async (offset, length) => {
    const wanted = Math.min(length, size - offset)
    if (wanted <= 0) return Buffer.alloc(0)
    const at = offset - block.start
    if (at >= 0 && at + wanted <= block.bytes.length) return block.bytes.subarray(at, at + wanted)
    const end = Math.min(size, offset + Math.max(wanted, BLOCK)) - 1
    block = { start: offset, bytes: await buffer(await storage.read(key, { start: offset, end })) }
    return block.bytes.subarray(0, wanted)
  }
}

export interface Relocated {
  sha256: string
}

/**
 * Makes the boxes that say where the recording at `key` (`size` bytes) was made `free` (see
 * `locationBoxes`), writing it again in one replace: its size and every offset in it stay as they
 * were, its SHA-256 is returned. Undefined when it has none, or is not a box tree it can walk
 * (truncated, malformed): it is then published as uploaded. Throws when storage fails.
 */
export async function withoutLocation(
  storage: StorageAdapter,
  key: string,
  type: string,
  size: number,
): Promise<Relocated | undefined> {
  const boxes = await locationBoxes(rangeReader(storage, key, size), size)
  if (!boxes || boxes.length === 0) return undefined
  const hash = createHash('sha256')
  let written = 0
  const measure = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk)
      written += chunk.length
      cb(null, chunk)
    },
  })
  const out = await storage.open(key, type)
  try {
    await pipeline(await storage.read(key), neutraliser(boxes), measure, out.stream)
    // Changed meanwhile (it cannot be, but a replace must not publish something else).
    if (written !== size) throw new Error(`${key} was ${written} bytes, not ${size}`)
    await out.commit()
  } catch (err) {
    await out.abort().catch(() => {})
    throw err
  }
  return { sha256: hash.digest('hex') }
}
