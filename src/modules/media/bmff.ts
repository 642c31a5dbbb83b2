import { Transform, type TransformCallback } from 'node:stream'

/**
 * A small walker over ISO base media files (MP4, QuickTime, 3GP, M4A) that finds the boxes
 * saying where a recording was made, to be made `free` in place: same size, so no chunk offset
 * moves. Pure: it reads through `ReadAt` and changes nothing itself (see `neutraliser`).
 */

/** Up to `length` bytes at `offset`: fewer only at the end of the file. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>

/**
 * A box to neutralise: its type (at `start + 4`) becomes `free` and its bytes from `start + keep`
 * (past its size fields) to `end` become zeros, so what it said is gone, not only hidden.
 */
export interface Neutralised {
  start: number
  end: number
  keep: number
  /** What it was, for logs and tests. */
  type: string
}

/** Bounds on a walk: a hostile file cannot make it read without end. */
export const WALK_LIMITS = { boxes: 100_000, depth: 6, keysBytes: 1024 * 1024 }

/** Boxes that hold a position (QuickTime `©xyz`, 3GPP `loci`) or XMP, which may (`XMP_`). */
const LOCATION = new Set(['\u00a9xyz', 'loci', 'XMP_'])
/** The `uuid` of an XMP packet's box (ISO 16684 / the XMP spec, part 3). */
const XMP_UUID = Buffer.from('be7acfcb97a942e89c71999491e3afac', 'hex')
/** Where location boxes live: the containers walked into, by the container they are in. */
const DESCEND: Record<string, ReadonlySet<string>> = {
  file: new Set(['moov']),
  moov: new Set(['trak', 'udta']),
  trak: new Set(['udta']),
  udta: new Set(),
}
/** Apple's keys for where (`com.apple.quicktime.location.ISO6709`, `….location.name`, …). */
const LOCATION_KEY = /\blocation\b|iso6709/i

/** The file is not what it says: it is left as it was. */
class Malformed extends Error {}

interface Box {
  start: number
  end: number
  /** Bytes before its payload: 8, or 16 with a 64-bit size; a `uuid` box's user type is payload. */
  header: number
  type: string
  /** A `uuid` box's user type (16 bytes), else empty. */
  userType: Buffer
}

interface Walk {
  read: ReadAt
  boxes: number
  found: Neutralised[]
}

/**
 * The boxes of the file (`size` bytes) that carry a location: `©xyz`, `loci` and `XMP_` in
 * `udta` (the movie's or a track's), XMP `uuid` boxes, and `meta` boxes whose keys name a location
 * (Apple's `mdta` keys) or whose item list has `©xyz` (as a whole: their other keys go too).
 * Undefined when the file is truncated or malformed, or too large a tree to walk: it is then left
 * as it was rather than changed on a guess.
 */
export async function locationBoxes(read: ReadAt, size: number): Promise<Neutralised[] | undefined> {
  const walk: Walk = { read, boxes: 0, found: [] }
  try {
    await walkChildren(walk, 'file', 0, size, 0)
  } catch (err) {
    if (err instanceof Malformed) return undefined
    throw err
  }
  return walk.found
}

async function walkChildren(walk: Walk, parent: string, start: number, end: number, depth: number) {
  if (depth > WALK_LIMITS.depth) throw new Malformed('too deep')
  for (let at = start; ; ) {
    const box = await nextBox(walk, at, end)
    if (!box) return
    at = box.end
    if (isLocation(box) || (box.type === 'meta' && (await metaHasLocation(walk, box, depth + 1)))) {
      walk.found.push({ start: box.start, end: box.end, keep: box.header, type: box.type })
    } else if (DESCEND[parent]?.has(box.type)) {
      await walkChildren(walk, box.type, box.start + box.header, box.end, depth + 1)
    }
  }
}

function isLocation(box: Box): boolean {
  return LOCATION.has(box.type) || (box.type === 'uuid' && box.userType.equals(XMP_UUID))
}

/**
 * The box at `at` within a container ending at `end`, or undefined at its end. Fewer than 8 bytes
 * left end the list if they are zeros (QuickTime ends a `udta` with a 32-bit zero).
 */
async function nextBox(walk: Walk, at: number, end: number): Promise<Box | undefined> {
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

/**
 * Whether a `meta` box says where: Apple's `keys` name a location, or an iTunes item list holds
 * `©xyz`, or it carries XML (an XMP packet, in ISO's `xml `). A `keys` box too large to read is
 * taken to: its `meta` is only metadata.
 */
async function metaHasLocation(walk: Walk, meta: Box, depth: number): Promise<boolean> {
  if (depth > WALK_LIMITS.depth) throw new Malformed('too deep')
  // QuickTime's `meta` is a plain container, ISO's a full box: 4 bytes of version and flags first.
  // (Fewer than 8 bytes hold no box either way: `nextBox` takes them as an end if they are zeros.)
  let first = meta.start + meta.header
  if (meta.end - first >= 8) {
    const peek = await walk.read(first, 8)
    if (peek.toString('latin1', 4, 8) !== 'hdlr') first += 4
  }
  for (let at = first; ; ) {
    const box = await nextBox(walk, at, meta.end)
    if (!box) return false
    at = box.end
    if (box.type === 'xml ') return true
    if (box.type === 'keys' && (await keysNameLocation(walk, box))) return true
    if (box.type === 'ilst' && (await holds(walk, box, '\u00a9xyz'))) return true
  }
}

/** `keys`: version and flags, a count, then each key as size (with its 8 bytes), namespace, name. */
async function keysNameLocation(walk: Walk, keys: Box): Promise<boolean> {
  const length = keys.end - keys.start - keys.header
  if (length > WALK_LIMITS.keysBytes) return true
  const body = await walk.read(keys.start + keys.header, length)
  if (body.length !== length || length < 8) throw new Malformed('keys')
  const count = body.readUInt32BE(4)
  let at = 8
  for (let i = 0; i < count; i++) {
    if (at + 8 > length) throw new Malformed('keys')
    const keySize = body.readUInt32BE(at)
    if (keySize < 8 || at + keySize > length) throw new Malformed('keys')
    if (LOCATION_KEY.test(body.toString('latin1', at + 8, at + keySize))) return true
    at += keySize
  }
  return false
}

async function holds(walk: Walk, container: Box, type: string): Promise<boolean> {
  for (let at = container.start + container.header; ; ) {
    const box = await nextBox(walk, at, container.end)
    if (!box) return false
    if (box.type === type) return true
    at = box.end
  }
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
        // The type's bytes within this chunk, then the payload's.
        for (let at = Math.max(from, edit.start + 4); at < Math.min(to, edit.start + 8); at++) {
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
