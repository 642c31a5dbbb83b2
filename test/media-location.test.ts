import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { usage } from '../src/modules/media/media.repo.js'
import {
  appleMeta,
  box,
  freed,
  ftyp,
  mdat,
  mvhd,
  POSITION,
  XMP,
  xmpUuid,
  xyz,
} from './fixtures/media-bmff.js'
import { DIALECTS } from './helper.js'
import { mediaSuite, publishedUpload } from './media-fixtures.js'

/** Recordings are published without where they were made, the same size, hashed as published. */

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
const has = (file: Buffer, text: string) => file.includes(Buffer.from(text, 'latin1'))

for (const dialect of DIALECTS) {
  describe(`recordings published without their location (${dialect})`, () => {
    const suite = mediaSuite(dialect, {
      campaign: {
        metadata: {
          custom_rules: { media_allowed_types: ['video/mp4', 'video/quicktime', 'audio/x-m4a'] },
        },
      },
    })

    /** Uploads `file` as `type`; the answer and the bytes then served. */
    const upload = (bytes: Buffer, type: string) =>
      publishedUpload(suite.app, suite.base, suite.slug, suite.token, { bytes, type, filename: 'clip' })

    it('makes the boxes that say where free, keeping the size and hashing what is served', async () => {
      const apple = appleMeta([
        ['com.apple.quicktime.make', 'Apple'],
        ['com.apple.quicktime.location.ISO6709', POSITION],
      ])
      const mp4 = Buffer.concat([
        ftyp(),
        box('moov', [mvhd(), apple, box('udta', [xyz()])]),
        mdat(200_000),
        xmpUuid(),
      ])
      const expected = Buffer.concat([
        ftyp(),
        box('moov', [mvhd(), freed(apple), box('udta', [freed(xyz())])]),
        mdat(200_000),
        freed(xmpUuid()),
      ])
      const before = await usage(
        suite.app.platform.database.db,
        { session_id: suite.sessionId },
        new Date(),
        new Date(0),
      )
      const { body, media_id, served } = await upload(mp4, 'video/mp4')
      assert.equal(body.status, 'ready')
      assert.equal(body.content_type, 'video/mp4')
      assert.deepEqual(served, expected)
      for (const gone of [POSITION, XMP, 'location']) assert.equal(has(served, gone), false, gone)
      assert.equal(body.size, mp4.length)
      assert.equal(body.sha256, sha256(expected))
      const row = await suite.app.platform.database.db
        .selectFrom('service_media_main')
        .selectAll()
        .where('id', '=', media_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.sha256, sha256(expected))
      assert.equal(Number(row.size_bytes), expected.length)
      // The quotas count what is stored.
      const after = await usage(
        suite.app.platform.database.db,
        { session_id: suite.sessionId },
        new Date(),
        new Date(0),
      )
      assert.equal(after - before, expected.length)
    })

    it('does so for QuickTime and M4A alike', async () => {
      for (const [brand, type] of [
        ['qt', 'video/quicktime'],
        ['M4A', 'audio/x-m4a'],
      ] as const) {
        const file = Buffer.concat([ftyp(brand), box('moov', [mvhd(), box('udta', [xyz()])]), mdat()])
        const { body, served } = await upload(file, type)
        assert.equal(body.content_type, type)
        assert.equal(has(served, POSITION), false, type)
        assert.equal(served.length, file.length)
        assert.equal(body.sha256, sha256(served))
      }
    })

    it('publishes as uploaded a recording without a location, or one it cannot walk', async () => {
      const plain = Buffer.concat([
        ftyp(),
        box('moov', [mvhd(), box('udta', [box('\u00a9too', Buffer.from('x'))])]),
        mdat(),
      ])
      // Truncated: its media data says it is longer than the file.
      const cut = Buffer.concat([
        ftyp(),
        box('moov', [mvhd(), box('udta', [xyz()])]),
        box('mdat', Buffer.alloc(100), 5000),
      ])
      for (const file of [plain, cut]) {
        const { body, served } = await upload(file, 'video/mp4')
        assert.equal(body.status, 'ready')
        assert.deepEqual(served, file)
        assert.equal(body.sha256, sha256(file))
      }
    })
  })
}
