import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { adminHeaders, DIALECTS, json } from '../helper.js'
import { createStream, editorApp, streamIdsForLink } from './helpers.js'

/**
 * One YouTube video or live stream shared in another of its usual forms (`youtu.be/ID`,
 * `/live/ID`, `/shorts/ID`, the embed player, a watch link with a start time or the playlist it
 * was opened from) was stored as a second stream instead of answering the one listed.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource duplicate YouTube video links (${dialect})`, () => {
    const suite = editorApp(dialect)

    /** A video id no other test uses, in mixed case (an id's case matters). */
    const videoId = () => `Vd${randomBytes(4).toString('hex')}_-X`
    const create = (link: string) => createStream(suite.ctx.app, suite.editor, link)
    const lookup = (link: string) => streamIdsForLink(suite.ctx.app, suite.editor, link)
    /** A row as stored before video forms were folded: the key its own link had then. */
    const olderRow = async (link: string, key: string) => {
      const row = await suite.ctx.app.platform.database.db
        .insertInto('service_stream_main')
        .values({ link, normalized_link: key, platform: 'youtube', user_id: suite.editor.id })
        .returning('id')
        .executeTakeFirstOrThrow()
      return Number(row.id)
    }

    const forms = [
      'https://youtu.be/{id}',
      'https://youtu.be/{id}?si=AbCdEf123',
      'https://youtu.be/{id}?t=42',
      'https://youtu.be/{id}?feature=shared',
      'https://www.youtube.com/live/{id}?si=x',
      'https://youtube.com/shorts/{id}',
      'https://m.youtube.com/shorts/{id}',
      'https://www.youtube.com/embed/{id}?autoplay=1',
      'https://www.youtube-nocookie.com/embed/{id}',
      'https://www.youtube.com/watch?v={id}&t=1h2m3s',
      'https://www.youtube.com/watch?v={id}&feature=youtu.be',
      'https://www.youtube.com/watch?v={id}&list=PLabc&index=4',
    ]

    it('answers the stream of `watch?v=ID` for each of its other forms, and the other way round', async () => {
      for (const form of forms) {
        const id = videoId()
        const link = form.replaceAll('{id}', id)
        const made = await create(`https://www.youtube.com/watch?v=${id}`)
        assert.equal(made.statusCode, 201, made.body)
        const dup = await create(link)
        assert.equal(dup.statusCode, 200, `${link}: ${dup.body}`)
        assert.equal(json(dup).stream.id, json(made).stream.id, link)
        assert.deepEqual(await lookup(link), [json(made).stream.id], link)

        const other = videoId()
        const first = await create(form.replaceAll('{id}', other))
        assert.equal(first.statusCode, 201, first.body)
        assert.equal(json(first).stream.platform, 'youtube')
        const again = await create(`https://youtube.com/watch?v=${other}`)
        assert.equal(again.statusCode, 200, `${form}: ${again.body}`)
        assert.equal(json(again).stream.id, json(first).stream.id, form)
      }
    })

    it('keeps apart another video, an id in another case, and what is not one video', async () => {
      const id = videoId()
      for (const link of [
        `https://youtu.be/${id}`,
        `https://youtu.be/${id.toLowerCase()}`,
        `https://youtube.com/shorts/${id.toUpperCase()}`,
        `https://youtube.com/playlist?list=PL${id}`,
        `https://youtube.com/embed/videoseries?list=PL${id}`,
        `https://youtube.com/embed/live_stream?channel=UC${id}`,
        `https://youtube.com/embed/live_stream?channel=UC${id}x`,
        `https://youtube.com/@${id}/live`,
      ]) {
        const res = await create(link)
        assert.equal(res.statusCode, 201, `${link}: ${res.body}`)
      }
    })

    it('finds a video stored under another form before forms were folded, by create, list and update', async () => {
      for (const [link, key] of [
        ['https://youtu.be/{id}?si=x', 'youtu.be/{id}'],
        ['https://www.youtube.com/live/{id}', 'youtube.com/live/{id}'],
        ['https://m.youtube.com/shorts/{id}', 'm.youtube.com/shorts/{id}'],
        ['https://www.youtube-nocookie.com/embed/{id}', 'youtube-nocookie.com/embed/{id}'],
      ]) {
        const id = videoId()
        const row = await olderRow(link!.replaceAll('{id}', id), key!.replaceAll('{id}', id))
        for (const again of [`https://youtube.com/watch?v=${id}&t=5`, `https://youtu.be/${id}`]) {
          const dup = await create(again)
          assert.equal(dup.statusCode, 200, `${key} / ${again}: ${dup.body}`)
          assert.equal(json(dup).stream.id, row)
          assert.deepEqual(await lookup(again), [row])
        }
        // Changed to the video's usual link, it stays the one stream.
        const patched = await suite.ctx.app.inject({
          method: 'PATCH',
          url: `/api/v1/streams/${row}`,
          headers: adminHeaders,
          payload: { link: `https://www.youtube.com/watch?v=${id}` },
        })
        assert.equal(patched.statusCode, 200, patched.body)
        assert.deepEqual(await lookup(`https://youtu.be/${id}`), [row])
      }
    })
  })
}
