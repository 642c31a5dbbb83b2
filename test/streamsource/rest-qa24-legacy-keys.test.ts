import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { rekeyStreamLinks, REPORT_KEY, up } from '../../src/platform/db/migrations/033_stream_link_keys.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { DIALECTS, json, withDatabase } from '../helper.js'
import { migrateBefore } from '../migrate-before.js'
import { createStream, editorApp, streamIdsForLink } from './helpers.js'

/**
 * A stream stored before a link form was folded kept the key of its day: one whose key kept a
 * start time or the playlist it was opened from (`youtu.be/ID?t=42`, `watch?list=…&v=ID`), a
 * platform's own tracking parameter (`twitch.tv/name?sr=a`) or a clip's channel
 * (`twitch.tv/Name/clip/Slug`) was no longer found when the same link was sent again: a second
 * stream was made. Migration 033 re-keys such rows to today's key.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource streams stored under an older key (${dialect})`, () => {
    const suite = editorApp(dialect)

    const tag = () => `Id${randomBytes(4).toString('hex')}_-Q`
    const db = () => suite.ctx.app.platform.database.db
    /** A row as an older version stored it: `key` is the key its link had then. */
    const olderRow = async (link: string, key: string) => {
      const row = await db()
        .insertInto('service_stream_main')
        .values({ link, normalized_link: key, platform: 'other', user_id: suite.editor.id })
        .returning('id')
        .executeTakeFirstOrThrow()
      return Number(row.id)
    }
    const keyOf = async (id: number) =>
      (
        await db()
          .selectFrom('service_stream_main')
          .select('normalized_link')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).normalized_link

    it('finds, once the upgrade ran, a stream whose stored key kept a start time, a playlist, a tracking parameter or a clip channel', async () => {
      const cases = [1, 2, 3, 4, 5].map(() => tag())
      const [t, list, sr, clip, slash] = cases
      const rows = [
        // [link as entered, key stored then, the same link sent again]
        [`https://youtu.be/${t}?t=42`, `youtu.be/${t}?t=42`, `https://youtu.be/${t}?t=42`],
        [
          `https://www.youtube.com/watch?v=${list}&list=PL1&index=2`,
          `youtube.com/watch?index=2&list=PL1&v=${list}`,
          `https://www.youtube.com/watch?v=${list}&list=PL1&index=2`,
        ],
        [`https://twitch.tv/${sr}?sr=a`, `twitch.tv/${sr}?sr=a`, `https://www.twitch.tv/${sr}?sr=a`],
        [
          `https://twitch.tv/Chan/clip/${clip}`,
          `twitch.tv/Chan/clip/${clip}`,
          `https://clips.twitch.tv/${clip}`,
        ],
        [`https://example.com/%7e${slash}`, `example.com/%7e${slash}`, `https://example.com/~${slash}`],
      ] as const
      const ids: number[] = []
      for (const [link, key, again] of rows) {
        const id = await olderRow(link, key)
        ids.push(id)
        // Before the upgrade, the lookup by today's key misses it.
        assert.deepEqual(await streamIdsForLink(suite.ctx.app, suite.editor, again), [], again)
      }
      const campaign = await olderRow('campaign-stream:abc', `campaign-stream:${tag()}`)
      const campaignKey = await keyOf(campaign)

      await up(db())

      for (const [i, [link, , again]] of rows.entries()) {
        const dup = await createStream(suite.ctx.app, suite.editor, again)
        assert.equal(dup.statusCode, 200, `${again}: ${dup.body}`)
        assert.equal(json(dup).stream.id, ids[i], again)
        assert.equal(json(dup).stream.link, link, 'the link shows as first entered')
        assert.deepEqual(await streamIdsForLink(suite.ctx.app, suite.editor, link), [ids[i]], link)
      }
      assert.equal(await keyOf(campaign), campaignKey, 'a row whose link is no URL keeps its key')
    })

    it('keeps both streams when today’s key is taken, answers the one holding it, and reports the other', async () => {
      const held = tag()
      const pair = tag()
      // A duplicate made because the older row was missed: it holds today's key.
      const older = await olderRow(`https://youtu.be/${held}?t=1`, `youtu.be/${held}?t=1`)
      const made = await createStream(suite.ctx.app, suite.editor, `https://youtube.com/watch?v=${held}`)
      assert.equal(made.statusCode, 201, made.body)
      const newer: number = json(made).stream.id
      // Two older rows that both get the same key today: the lower id takes it.
      const first = await olderRow(`https://youtu.be/${pair}?t=5`, `youtu.be/${pair}?t=5`)
      const second = await olderRow(
        `https://youtube.com/watch?t=9&v=${pair}`,
        `youtube.com/watch?t=9&v=${pair}`,
      )

      const { kept } = await rekeyStreamLinks(db())
      assert.deepEqual(
        kept.filter((k) => [older, second].includes(k.id)).sort((a, b) => a.id - b.id),
        [
          { id: older, key: `youtu.be/${held}?t=1`, wanted: `youtube.com/watch?v=${held}`, same_as: newer },
          {
            id: second,
            key: `youtube.com/watch?t=9&v=${pair}`,
            wanted: `youtube.com/watch?v=${pair}`,
            same_as: first,
          },
        ],
      )
      assert.equal(await keyOf(first), `youtube.com/watch?v=${pair}`)

      for (const [link, id] of [
        [`https://youtu.be/${held}?t=1`, newer],
        [`https://youtube.com/watch?t=9&v=${pair}`, first],
      ] as const) {
        const dup = await createStream(suite.ctx.app, suite.editor, link)
        assert.equal(dup.statusCode, 200, dup.body)
        assert.equal(json(dup).stream.id, id, link)
      }
      // Nothing is deleted: both of each pair are still listed.
      for (const id of [older, newer, first, second]) {
        const res = await suite.ctx.app.inject({
          url: `/api/v1/streams/${id}`,
          headers: suite.editor.headers,
        })
        assert.equal(res.statusCode, 200, `stream ${id}`)
      }
      const report = await db()
        .selectFrom('service_stream_setting')
        .select('value')
        .where('key', '=', REPORT_KEY)
        .executeTakeFirstOrThrow()
      const value = report.value as { kept: Array<{ id: number; same_as: number }>; kept_count: number }
      assert.ok(value.kept_count >= 2)
      assert.ok(value.kept.some((k) => k.id === older && k.same_as === newer))
      assert.ok(value.kept.some((k) => k.id === second && k.same_as === first))

      // Run again, it changes nothing.
      assert.equal((await rekeyStreamLinks(db())).rekeyed, 0)
    })

    it('moves a row whose stored key another row is leaving in the same upgrade', async () => {
      // Row A's link now has the key row B is stored under, and B moves away from it.
      const slug = tag()
      const b = await olderRow(`https://twitch.tv/chan/clip/${slug}`, `clips.twitch.tv/${slug}x`)
      const a = await olderRow(`https://clips.twitch.tv/${slug}x`, `clips.twitch.tv/${slug}x?tt_medium=a`)
      await rekeyStreamLinks(db())
      assert.equal(await keyOf(b), `clips.twitch.tv/${slug}`)
      assert.equal(await keyOf(a), `clips.twitch.tv/${slug}x`)
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`StreamSource migration 033 on upgrade (${dialect})`, () => {
    it('re-keys the rows a version before left, in the upgrade, and reports a key already held', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateBefore(db, '033_stream_link_keys')
        const rows: Array<[link: string, key: string]> = [
          ['https://youtu.be/AbC?t=42', 'youtu.be/AbC?t=42'],
          ['https://www.twitch.tv/Foo/clip/SlugX?filter=clips', 'twitch.tv/Foo/clip/SlugX?filter=clips'],
          ['https://facebook.com/Page/videos/123/', 'facebook.com/Page/videos/123'],
          ['https://youtube.com/watch?v=AbC&t=1', 'youtube.com/watch?t=1&v=AbC'],
        ]
        const ids: number[] = []
        for (const [link, key] of rows) {
          const row = await db
            .insertInto('service_stream_main')
            .values({ link, normalized_link: key })
            .returning('id')
            .executeTakeFirstOrThrow()
          ids.push(Number(row.id))
        }
        assert.ok((await migrateToLatest(db)).includes('033_stream_link_keys'))
        const keys = await db
          .selectFrom('service_stream_main')
          .select(['id', 'normalized_link'])
          .orderBy('id')
          .execute()
        assert.deepEqual(
          keys.map((k) => k.normalized_link),
          [
            'youtube.com/watch?v=AbC',
            'clips.twitch.tv/SlugX',
            'facebook.com/watch?v=123',
            'youtube.com/watch?t=1&v=AbC',
          ],
        )
        const report = await db
          .selectFrom('service_stream_setting')
          .select('value')
          .where('key', '=', REPORT_KEY)
          .executeTakeFirstOrThrow()
        assert.deepEqual(report.value, {
          rekeyed: 3,
          kept_count: 1,
          kept: [
            {
              id: ids[3],
              key: 'youtube.com/watch?t=1&v=AbC',
              wanted: 'youtube.com/watch?v=AbC',
              same_as: ids[0],
            },
          ],
        })
      })
    })
  })
}
