import { type Box, Malformed, type Neutralised, nextBox, type Walk, WALK_LIMITS } from './boxes.js'

/**
 * HEIF images (HEIC, as phones take them, and AVIF) keep their EXIF (GPS position, time, camera)
 * and XMP as items of the file-level `meta` box: an `Exif` item, and a `mime` item of type
 * `application/rdf+xml`, whose bytes the `iloc` box places (in `mdat`, or in `idat` within
 * `meta`). Those bytes are zeroed in place, so the image, every offset and the file's size stay
 * as they were; an item's entry stays and now says nothing. The orientation of a HEIF image is
 * its `irot`/`imir` properties, not EXIF: it still shows upright.
 */

/** The item types whose data is metadata, and the MIME type of an XMP `mime` item. */
const EXIF = 'Exif'
const XMP_MIME = 'application/rdf+xml'

/** An item's data as `iloc` places it: `method` 0 in the file, 1 in `idat`; extents from there. */
interface Location {
  method: number
  extents: Array<{ offset: number; length: number }>
}

/**
 * The data of the metadata items of a file-level `meta` box, to be zeroed; undefined when the box
 * is not a HEIF image's (its handler is not `pict`). Throws `Malformed` when what it says does
 * not hold together (an extent past its container, an item stored in another file, one that runs
 * to the end of its container): the file is then left as it was.
 */
export async function imageMetadataItems(walk: Walk, meta: Box): Promise<Neutralised[] | undefined> {
  // ISO's `meta` is a full box (version and flags first), QuickTime's a plain container.
  let first = meta.start + meta.header
  if (meta.end - first >= 8 && (await walk.read(first, 8)).toString('latin1', 4, 8) !== 'hdlr') first += 4
  const children: Record<string, Box> = {}
  for (let at = first; ; ) {
    const box = await nextBox(walk, at, meta.end)
    if (!box) break
    at = box.end
    children[box.type] ??= box
  }
  const hdlr = children.hdlr && (await body(walk, children.hdlr, 12))
  if (hdlr?.toString('latin1', 8, 12) !== 'pict') return undefined
  if (!children.iinf || !children.iloc) return []
  const ids = await metadataItemIds(walk, children.iinf)
  if (ids.size === 0) return []
  const locations = await itemLocations(walk, children.iloc)
  const found: Neutralised[] = []
  for (const [id, type] of ids) {
    const location = locations.get(id)
    if (!location) continue
    let base = 0
    let limit = walk.size
    if (location.method === 1) {
      if (!children.idat) throw new Malformed('idat')
      base = children.idat.start + children.idat.header
      limit = children.idat.end
    } else if (location.method !== 0) {
      throw new Malformed('construction method')
    }
    for (const { offset, length } of location.extents) {
      const start = base + offset
      if (length === 0 || start + length > limit) throw new Malformed('extent')
      found.push({ start, end: start + length, keep: 0, type, data: true })
    }
  }
  return found
}

/** A box's payload (a full box's version and flags first), at most `WALK_LIMITS.keysBytes`. */
async function body(walk: Walk, box: Box, atLeast: number): Promise<Buffer> {
  const length = box.end - box.start - box.header
  if (length > WALK_LIMITS.keysBytes) throw new Malformed(`${box.type} too large`)
  const bytes = await walk.read(box.start + box.header, length)
  if (bytes.length !== length || length < atLeast) throw new Malformed(box.type)
  return bytes
}

/** Ids of the `Exif` and XMP items, by `iinf`'s `infe` entries (versions 0 to 3). */
async function metadataItemIds(walk: Walk, iinf: Box): Promise<Map<number, string>> {
  const head = await walk.read(iinf.start + iinf.header, 4)
  if (head.length < 4) throw new Malformed('iinf')
  const ids = new Map<number, string>()
  for (let at = iinf.start + iinf.header + 4 + (head[0] === 0 ? 2 : 4); ; ) {
    const infe = await nextBox(walk, at, iinf.end)
    if (!infe) return ids
    at = infe.end
    if (infe.type !== 'infe') continue
    const entry = new Reader(await body(walk, infe, 8), 'infe')
    const version = entry.uint(1)
    entry.skip(3)
    const id = entry.uint(version >= 3 ? 4 : 2)
    entry.skip(2) // protection index
    if (version >= 2) {
      const type = entry.fourcc()
      entry.string() // name
      if (type === EXIF) ids.set(id, EXIF)
      else if (type === 'mime' && entry.string() === XMP_MIME) ids.set(id, 'XMP')
    } else {
      entry.string() // name
      if (entry.string() === XMP_MIME) ids.set(id, 'XMP')
    }
  }
}

/** Where `iloc` (versions 0 to 2) places each item's data. */
async function itemLocations(walk: Walk, iloc: Box): Promise<Map<number, Location>> {
  const r = new Reader(await body(walk, iloc, 8), 'iloc')
  const version = r.uint(1)
  if (version > 2) throw new Malformed('iloc version')
  r.skip(3)
  const sizes = r.uint(1)
  const more = r.uint(1)
  const [offsetSize, lengthSize, baseSize] = [sizes >> 4, sizes & 15, more >> 4]
  const indexSize = version === 0 ? 0 : more & 15
  const items = new Map<number, Location>()
  const count = r.uint(version < 2 ? 2 : 4)
  for (let i = 0; i < count; i++) {
    const id = r.uint(version < 2 ? 2 : 4)
    const method = version === 0 ? 0 : r.uint(2) & 15
    // Data in another file (a data reference) is not in this one: nothing here to zero.
    const external = r.uint(2) !== 0
    const base = r.sized(baseSize)
    const extents: Location['extents'] = []
    const extentCount = r.uint(2)
    for (let e = 0; e < extentCount; e++) {
      r.sized(indexSize)
      extents.push({ offset: base + r.sized(offsetSize), length: r.sized(lengthSize) })
    }
    if (!external) items.set(id, { method, extents })
  }
  return items
}

/** Big-endian fields of a box's payload, read in order; past its end is `Malformed`. */
class Reader {
  private at = 0
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  private take(n: number): number {
    if (this.at + n > this.bytes.length) throw new Malformed(this.what)
    const at = this.at
    this.at += n
    return at
  }

  skip(n: number): void {
    this.take(n)
  }

  uint(n: 1 | 2 | 4): number {
    const at = this.take(n)
    return n === 1 ? this.bytes[at]! : n === 2 ? this.bytes.readUInt16BE(at) : this.bytes.readUInt32BE(at)
  }

  /** A field of 0, 4 or 8 bytes, as `iloc` sizes them. */
  sized(n: number): number {
    if (n === 0) return 0
    if (n === 4) return this.uint(4)
    if (n !== 8) throw new Malformed(`${this.what} field size`)
    const value = this.bytes.readBigUInt64BE(this.take(8))
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed(this.what)
    return Number(value)
  }

  fourcc(): string {
    return this.bytes.toString('latin1', this.take(4), this.at)
  }

  /** A NUL-terminated string (one missing its NUL at the very end is taken as ending there). */
  string(): string {
    const end = this.bytes.indexOf(0, this.at)
    const stop = end === -1 ? this.bytes.length : end
    const text = this.bytes.toString('utf8', this.at, stop)
    this.at = Math.min(this.bytes.length, stop + 1)
    return text
  }
}
