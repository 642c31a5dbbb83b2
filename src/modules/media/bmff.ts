import {
  type Box,
  Malformed,
  type Neutralised,
  nextBox,
  type ReadAt,
  type Walk,
  WALK_LIMITS,
} from './boxes.js'
import { imageMetadataItems } from './heif.js'

export { type Neutralised, neutraliser, type ReadAt, WALK_LIMITS } from './boxes.js'

/**
 * A small walker over ISO base media files (MP4, QuickTime, 3GP, M4A, HEIF) that finds what says
 * where a recording or photo was made, to be emptied in place: boxes made `free`, a HEIF image's
 * EXIF and XMP items zeroed; same size, so no offset moves. Pure: it reads through `ReadAt` and
 * changes nothing itself (see `neutraliser`).
 */

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

/**
 * The boxes of the file (`size` bytes) that carry a location: `©xyz`, `loci` and `XMP_` in
 * `udta` (the movie's or a track's), XMP `uuid` boxes, and `meta` boxes whose keys name a location
 * (Apple's `mdta` keys) or whose item list has `©xyz` (as a whole: their other keys go too); in
 * a HEIF image, the data of its EXIF and XMP items (see `heif.ts`). Undefined when the file is truncated or malformed, or too large a tree to walk: it is then left
 * as it was rather than changed on a guess.
 */
export async function locationBoxes(read: ReadAt, size: number): Promise<Neutralised[] | undefined> {
  const walk: Walk = { read, size, boxes: 0, found: [] }
  try {
    await walkChildren(walk, 'file', 0, size, 0)
    // In file order, apart, as `neutraliser` takes them: item data overlapping anything is a lie.
    walk.found.sort((a, b) => a.start - b.start)
    for (let i = 1; i < walk.found.length; i++) {
      if (walk.found[i]!.start < walk.found[i - 1]!.end) throw new Malformed('overlap')
    }
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
    // A HEIF image's `meta` holds the picture itself: only its EXIF and XMP items' data go.
    const items = parent === 'file' && box.type === 'meta' ? await imageMetadataItems(walk, box) : undefined
    if (items) walk.found.push(...items)
    else if (isLocation(box) || (box.type === 'meta' && (await metaHasLocation(walk, box, depth + 1)))) {
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
