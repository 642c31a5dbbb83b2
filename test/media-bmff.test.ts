import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import {
  locationBoxes,
  type Neutralised,
  neutraliser,
  type ReadAt,
  WALK_LIMITS,
} from '../src/modules/media/bmff.js'
import {
  appleMeta,
  box,
  freed,
  ftyp,
  fullBox,
  itunesMeta,
  largeBox,
  loci,
  mdat,
  mdia,
  mvhd,
  otherUuid,
  POSITION,
  tkhd,
  XMP,
  xmpUuid,
  xyz,
} from './fixtures/media-bmff.js'

/** Reads of `file` as storage serves them, counted. */
function reader(file: Buffer): ReadAt & { reads: number } {
  const read = (async (offset: number, length: number) => {
    read.reads++
    return file.subarray(offset, offset + length)
  }) as ReadAt & { reads: number }
  read.reads = 0
  return read
}

const walk = (file: Buffer) => locationBoxes(reader(file), file.length)

/** `file` through the neutraliser, `chunk` bytes at a time. */
async function neutralise(file: Buffer, edits: Neutralised[], chunk = 64 * 1024): Promise<Buffer> {
  const pieces: Buffer[] = []
  for (let at = 0; at < file.length; at += chunk) pieces.push(file.subarray(at, at + chunk))
  return buffer(Readable.from(pieces).pipe(neutraliser(edits)))
}

const has = (file: Buffer, text: string) => file.includes(Buffer.from(text, 'latin1'))

describe('location boxes of ISO base media files', () => {
  it('are made free in place, each where a phone or an editor puts it', async () => {
    const apple = appleMeta([
      ['com.apple.quicktime.make', 'Apple'],
      ['com.apple.quicktime.location.ISO6709', POSITION],
    ])
    const movieUdta = box('udta', [xyz(), box('\u00a9too', Buffer.from('Lavf'))])
    const trackUdta = box('udta', [loci(), box('name', Buffer.from('track'))])
    const trak = box('trak', [tkhd(), mdia(), trackUdta])
    const moov = box('moov', [mvhd(), trak, apple, movieUdta])
    const file = Buffer.concat([ftyp(), moov, mdat(), xmpUuid()])

    const edits = await walk(file)
    assert.deepEqual(
      edits?.map((e) => e.type),
      ['loci', 'meta', '\u00a9xyz', 'uuid'],
    )
    const out = await neutralise(file, edits!)
    // What careful tools do: the same size, no offset moved, only those boxes changed.
    const expected = Buffer.concat([
      ftyp(),
      box('moov', [
        mvhd(),
        box('trak', [tkhd(), mdia(), box('udta', [freed(loci()), box('name', Buffer.from('track'))])]),
        freed(apple),
        box('udta', [freed(xyz()), box('\u00a9too', Buffer.from('Lavf'))]),
      ]),
      mdat(),
      freed(xmpUuid()),
    ])
    assert.deepEqual(out, expected)
    for (const gone of [POSITION, XMP, 'location', 'Home']) assert.equal(has(out, gone), false, gone)
    // Still a box tree, with nothing left to take.
    assert.deepEqual(await walk(out), [])
  })

  it('leave alone what says nothing of where', async () => {
    const moov = box('moov', [
      mvhd(),
      appleMeta([
        ['com.apple.quicktime.make', 'Apple'],
        ['com.example.allocation', 'none'],
      ]),
      box('udta', [box('\u00a9day', Buffer.from('2024')), otherUuid()]),
    ])
    assert.deepEqual(await walk(Buffer.concat([ftyp(), moov, mdat()])), [])
    // A position outside the boxes walked (inside the media data) is the recording itself.
    assert.deepEqual(await walk(Buffer.concat([ftyp(), box('mdat', xyz())])), [])
  })

  it("take an iTunes `meta` whose items hold `©xyz`, full box or not, and an XMP packet's `XMP_`", async () => {
    const udta = box('udta', [itunesMeta(), box('XMP_', Buffer.from(XMP, 'latin1'))])
    const file = Buffer.concat([ftyp('qt'), box('moov', [mvhd(), udta]), mdat()])
    const edits = await walk(file)
    assert.deepEqual(
      edits?.map((e) => e.type),
      ['meta', 'XMP_'],
    )
    assert.equal(has(await neutralise(file, edits!), POSITION), false)
  })

  it('read 64-bit sizes and keep them', async () => {
    const bigXyz = largeBox('\u00a9xyz', xyz().subarray(8))
    const file = Buffer.concat([
      ftyp(),
      largeBox('moov', [mvhd(), largeBox('udta', [bigXyz])]),
      largeBox('mdat', Buffer.alloc(1000)),
    ])
    const edits = await walk(file)
    assert.deepEqual(
      edits?.map((e) => [e.type, e.keep]),
      [['\u00a9xyz', 16]],
    )
    const out = await neutralise(file, edits!)
    assert.deepEqual(
      out,
      Buffer.concat([
        ftyp(),
        largeBox('moov', [mvhd(), largeBox('udta', [freed(bigXyz)])]),
        largeBox('mdat', Buffer.alloc(1000)),
      ]),
    )
  })

  it('read a size of 0 as the rest of the file, or of its container', async () => {
    const file = Buffer.concat([
      ftyp(),
      box('moov', [
        mvhd(),
        box('udta', [box('name', Buffer.from('x')), box('\u00a9xyz', xyz().subarray(8), 0)]),
      ]),
      box('mdat', Buffer.alloc(500), 0),
    ])
    const edits = await walk(file)
    assert.deepEqual(
      edits?.map((e) => e.type),
      ['\u00a9xyz'],
    )
    const out = await neutralise(file, edits!)
    assert.equal(out.readUInt32BE(out.indexOf('free') - 4), 0, 'its size field stays 0')
    assert.equal(has(out, POSITION), false)
  })

  it("end a `udta` at QuickTime's 32-bit zero", async () => {
    const udta = box('udta', [xyz(), Buffer.alloc(4)])
    const edits = await walk(Buffer.concat([ftyp(), box('moov', [mvhd(), udta]), mdat()]))
    assert.deepEqual(
      edits?.map((e) => e.type),
      ['\u00a9xyz'],
    )
  })

  describe('leave a file as it was when it is not a box tree they can trust', () => {
    const good = () => Buffer.concat([ftyp(), box('moov', [mvhd(), box('udta', [xyz()])]), mdat()])
    const cases: Array<[string, () => Buffer]> = [
      ['truncated: its last box ends past the end', () => good().subarray(0, good().length - 10)],
      [
        'a box overrunning its container',
        () =>
          Buffer.concat([ftyp(), box('moov', [mvhd(), box('udta', [xyz(), box('name', [], 4000)])]), mdat()]),
      ],
      [
        'a size smaller than its header',
        () => Buffer.concat([ftyp(), box('moov', [xyz()]), box('free', [], 4), mdat()]),
      ],
      [
        'a 64-bit size past 2^53',
        () => {
          const file = Buffer.concat([ftyp(), box('moov', [xyz()]), largeBox('mdat', Buffer.alloc(8))])
          file.writeUInt32BE(0xffffffff, file.length - 16)
          return file
        },
      ],
      [
        'a 64-bit size cut short',
        () =>
          Buffer.concat([
            ftyp(),
            box('moov', [xyz()]),
            Buffer.from([0, 0, 0, 1, 0x6d, 0x64, 0x61, 0x74, 0, 0]),
          ]),
      ],
      [
        'a `uuid` box without its user type',
        () => Buffer.concat([ftyp(), box('moov', [xyz()]), box('uuid', Buffer.alloc(8))]),
      ],
      [
        'a key longer than its `keys`',
        () => {
          const meta = appleMeta([['com.apple.quicktime.location.ISO6709', POSITION]])
          const at = meta.indexOf('mdta', meta.indexOf('keys')) - 4
          meta.writeUInt32BE(5000, at)
          return Buffer.concat([ftyp(), box('moov', [xyz(), meta]), mdat()])
        },
      ],
      ['stray bytes after the last box', () => Buffer.concat([good(), Buffer.from([1, 2, 3])])],
      ['a file of no boxes at all', () => Buffer.from('%PDF-1.4 not a movie at all', 'latin1')],
    ]
    for (const [what, file] of cases) {
      it(what, async () => {
        assert.equal(await walk(file()), undefined)
      })
    }
  })

  it('stop after so many boxes, or so deep, however the file is made', async () => {
    // Boxes of 8 bytes: the most a file of this size can hold.
    const many = Buffer.concat([
      ftyp(),
      box('moov', [xyz()]),
      ...Array.from({ length: WALK_LIMITS.boxes }, () => box('free')),
    ])
    const read = reader(many)
    assert.equal(await locationBoxes(read, many.length), undefined)
    assert.ok(read.reads <= WALK_LIMITS.boxes + 10, `${read.reads} reads`)
    // Containers in containers: only the few that hold a location are walked into.
    let nested = box('udta', xyz())
    for (let i = 0; i < 2000; i++) nested = box(i % 2 ? 'moov' : 'trak', nested)
    const deep = Buffer.concat([ftyp(), nested])
    assert.deepEqual(await walk(deep), [])
    // A `meta` in a `meta` is not a location: its items are read, not walked into as a tree.
    assert.deepEqual(
      await walk(Buffer.concat([ftyp(), box('moov', [fullBox('meta', [box('meta', xyz())])])])),
      [],
    )
  })

  it('are neutralised alike whatever chunks the bytes come in', async () => {
    const file = Buffer.concat([
      ftyp(),
      box('moov', [
        mvhd(),
        box('udta', [xyz(), loci()]),
        appleMeta([['com.apple.quicktime.location.ISO6709', POSITION]]),
      ]),
      mdat(300),
      xmpUuid(),
    ])
    const edits = (await walk(file))!
    const whole = await neutralise(file, edits, file.length)
    for (const chunk of [1, 3, 7, 13, 100])
      assert.deepEqual(await neutralise(file, edits, chunk), whole, `${chunk}`)
    assert.equal(whole.length, file.length)
  })
})
