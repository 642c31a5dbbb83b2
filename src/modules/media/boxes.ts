import { Transform, type TransformCallback } from 'node:stream'

/**
 * Reading ISO base media files (MP4, QuickTime, 3GP, M4A, HEIF) box by box, within bounds a
 * hostile file cannot stretch, and writing them back with chosen boxes or byte ranges emptied in
 * place (same size, so no offset moves). What to empty is `bmff.ts`'s and `heif.ts`'s to find.
 */

/** Up to `length` bytes at `offset`: fewer only at the end of the file. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>

/**
 * A box to neutralise: its type (at `start + 4`) becomes `free` and its bytes from `start + keep`
 * (past its size fields) to `end` become zeros, so what it said is gone, not only hidden. With
 * `data`, the bytes are an item's data (HEIF), not a box: all of them are zeroed, none renamed.
 */
export interface Neutralised {
  start: number
  end: number
  keep: number
  /** What it was, for logs and tests. */
  type: string
  data?: boolean
}

/** Bounds on a walk: a hostile file cannot make it read without end. */
export const WALK_LIMITS = { boxes: 100_000, depth: 6, keysBytes: 1024 * 1024 }

/** The file is not what it says: it is left as it was. */
export class Malformed extends Error {}

export interface Box {
  start: number
  end: number
  /** Bytes before its payload: 8, or 16 with a 64-bit size; a `uuid` box's user type is payload. */
  header: number
  type: string
  /** A `uuid` box's user type (16 bytes), else empty. */
  userType: Buffer
}

export interface Walk {
  read: ReadAt
  /** The file's size in bytes. */
  size: number
  boxes: number
  found: Neutralised[]
}

/**
 * The box at `at` within a container ending at `end`, or undefined at its end. Fewer than 8 bytes
 * left end the list if they are zeros (QuickTime ends a `udta` with a 32-bit zero).
 */
export async function nextBox(walk: Walk, at: number, end: number): Promise<Box | undefined> {
  if (at >= end) return undefined
  if (end - at < 8) {
    const rest = await walk.read(at, end - at)
    if (rest.length === end - at && rest.every((b) => b === 0)) return undefined
    throw new Malformed('trailing bytes')
  }
  if (++walk.boxes > WALK_LIMITS.boxes) throw new Malformed('too many boxes')
  const head = await walk.read(at, 32)
  if (head.length < 8) throw new Malformed('truncated header')
  const size32 = head.readUInt32BE(0)
  const type = head.toString('latin1', 4, 8)
  let size: number
  let header = 8
  if (size32 === 1) {
    if (head.length < 16) throw new Malformed('truncated header')
    const large = head.readBigUInt64BE(8)
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('size')
    size = Number(large)
    header = 16
  } else if (size32 === 0) {
    // To the end of its container (ISO: of the file, for the last box; ffmpeg reads it so within).
    size = end - at
  } else {
    size = size32
  }
  if (size < header || at + size > end) throw new Malformed('size')
  let userType: Buffer = Buffer.alloc(0)
  if (type === 'uuid') {
    if (size < header + 16 || head.length < header + 16) throw new Malformed('uuid')
    userType = head.subarray(header, header + 16)
  }
  return { start: at, end: at + size, header, type, userType }
}

const FREE = Buffer.from('free', 'latin1')

/**
 * Passes a file's bytes through with the boxes of `edits` (sorted, apart, as `locationBoxes`
 * finds them) made `free`: their type replaced and their payload zeroed, their size fields kept.
 */
export function neutraliser(edits: readonly Neutralised[]): Transform {
  let position = 0
  let next = 0
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const from = position
      const to = from + chunk.length
      position = to
      let out = chunk
      for (let i = next; i < edits.length && edits[i]!.start < to; i++) {
        const edit = edits[i]!
        if (edit.end <= from) continue
        if (out === chunk) out = Buffer.from(chunk)
        // The type's bytes within this chunk (a box's), then the payload's.
        const typeEnd = edit.data ? edit.start : edit.start + 8
        for (let at = Math.max(from, edit.start + 4); at < Math.min(to, typeEnd); at++) {
          out[at - from] = FREE[at - edit.start - 4]!
        }
        const zeroFrom = Math.max(from, edit.start + edit.keep)
        const zeroTo = Math.min(to, edit.end)
        if (zeroFrom < zeroTo) out.fill(0, zeroFrom - from, zeroTo - from)
      }
      while (next < edits.length && edits[next]!.end <= to) next++
      cb(null, out)
    },
  })
}
