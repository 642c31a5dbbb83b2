import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { adminHeaders, DIALECTS, json } from '../helper.js'
import { createStream, editorApp, streamIdsForLink } from './helpers.js'

/**
 * The same stream by another host name was let in twice: a link shared from a phone
 * (`m.twitch.tv/x`, `m.facebook.com/…`), a fully qualified name (`twitch.tv./x`), or a link
 * copied from the address bar with the platform's tracking (`&ab_channel=…`, `?sr=a`).
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource duplicate links across a platform's hosts (${dialect})`, () => {
    const suite = editorApp(dialect)

    const name = () => `ch_${randomBytes(4).toString('hex')}`
    const create = (link: string) => createStream(suite.ctx.app, suite.editor, link)
    const lookup = (link: string) => streamIdsForLink(suite.ctx.app, suite.editor, link)

    it('answers the stream already listed for its mobile site or a trailing-dot host', async () => {
      for (const [first, again] of [
        ['https://twitch.tv/{n}', 'https://m.twitch.tv/{N}'],
        ['https://m.twitch.tv/{n}', 'https://www.twitch.tv/{n}/'],
        ['https://www.youtube.com/watch?v={n}', 'https://m.youtube.com/watch?v={n}&feature=share'],
        ['https://facebook.com/{n}/videos/1', 'https://m.facebook.com/{n}/videos/1'],
        ['https://facebook.com/{n}/videos/2', 'https://web.facebook.com/{N}/videos/2'],
        ['https://www.tiktok.com/@{n}/live', 'https://m.tiktok.com/@{n}/live'],
        ['https://kick.com/{n}', 'https://kick.com./{n}'],
        // The platform's own tracking, as its address bar shows it.
        [
          'https://youtube.com/watch?v={n}',
          'https://www.youtube.com/watch?v={n}&ab_channel=Some&pp=ygUFc29tZQ%3D%3D',
        ],
        ['https://twitch.tv/{n}', 'https://www.twitch.tv/{n}?sr=a&tt_medium=live_embed&tt_content=text_link'],
      ]) {
        const n = name()
        const fill = (t: string) => t.replaceAll('{n}', n).replaceAll('{N}', n.toUpperCase())
        const made = await create(fill(first!))
        assert.equal(made.statusCode, 201, made.body)
        const dup = await create(fill(again!))
        assert.equal(dup.statusCode, 200, `${fill(again!)}: ${dup.body}`)
        assert.equal(json(dup).stream.id, json(made).stream.id)
        assert.deepEqual(await lookup(fill(again!)), [json(made).stream.id])
      }
    })

    it("keeps a platform's tracking names where they may mean something else", async () => {
      const n = name()
      for (const link of [
        `https://example.com/${n}?pp=1`,
        `https://example.com/${n}?pp=2`,
        `https://example.com/${n}?sr=a`,
      ]) {
        const res = await create(link)
        assert.equal(res.statusCode, 201, `${link}: ${res.body}`)
      }
      const clip = await create(`https://youtube.com/watch?v=${n}&list=PL1`)
      assert.equal(clip.statusCode, 201, clip.body)
    })

    it('keeps the platform of a trailing-dot host', async () => {
      const res = await create(`https://twitch.tv./${name()}`)
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(json(res).stream.platform, 'twitch')
    })

    it('finds a stream stored under its mobile host before hosts were folded', async () => {
      const n = name()
      const db = suite.ctx.app.platform.database.db
      const row = await db
        .insertInto('service_stream_main')
        .values({ link: `https://m.twitch.tv/${n}`, normalized_link: `m.twitch.tv/${n}`, platform: 'twitch' })
        .returning('id')
        .executeTakeFirstOrThrow()
      const dup = await create(`https://twitch.tv/${n.toUpperCase()}`)
      assert.equal(dup.statusCode, 200, dup.body)
      assert.equal(json(dup).stream.id, Number(row.id))
      assert.deepEqual(await lookup(`https://m.twitch.tv/${n}`), [Number(row.id)])
      // Patched with its own link in the main site's form, it stays the one stream.
      const patched = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${row.id}`,
        headers: adminHeaders,
        payload: { link: `https://twitch.tv/${n}` },
      })
      assert.equal(patched.statusCode, 200, patched.body)
    })
  })
}
