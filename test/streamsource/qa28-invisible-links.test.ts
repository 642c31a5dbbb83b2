import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { createStream, editorApp } from './helpers.js'

/**
 * A link with an invisible character in it (a zero-width space a chat app inserted, a soft hyphen,
 * a word joiner: Unicode's default-ignorable code points) looked like a listed one to every
 * operator but had a duplicate key of its own, so a second tile of the same stream went on the
 * wall; and in the path it is percent-encoded into a channel that does not exist, which the wall
 * cannot open. Such links are refused (422 on `link`), raw or percent-encoded.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource links with invisible characters (${dialect})`, () => {
    const suite = editorApp(dialect)
    const name = () => `ch_${randomBytes(4).toString('hex')}`
    const refused = { link: ['must not contain invisible characters (zero-width spaces, soft hyphens…)'] }

    it('refuses them on create, wherever they are, and keeps the listed stream the only one', async () => {
      const n = name()
      const made = await createStream(suite.ctx.app, suite.editor, `https://twitch.tv/${n}`)
      assert.equal(made.statusCode, 201, made.body)
      for (const link of [
        `https://twitch.tv/${n}\u200b`,
        `https://twitch.tv/\u200b${n}`,
        `https://twitch.tv/${n.slice(0, 3)}\u00ad${n.slice(3)}`,
        `https://twitch.tv/${n}\u2060`,
        `https://twitch.tv/${n}\ufe0f`,
        `https://twitch.tv/${n}%E2%80%8B`,
        `https://twitch.tv/${n}%c2%ad`,
        `https://twi\u200btch.tv/${n}`,
        `https://twitch.tv/${n}?x=\u200d`,
        `https://twitch.tv/${n}?x=%E2%80%8C`,
      ]) {
        const res = await createStream(suite.ctx.app, suite.editor, link)
        assert.equal(res.statusCode, 422, `${JSON.stringify(link)}: ${res.body}`)
        assert.deepEqual(json(res).details, refused, JSON.stringify(link))
      }
      const list = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/v1/streams?search=${n}`,
        headers: suite.editor.headers,
      })
      assert.deepEqual(
        json(list).streams.map((s: { id: number }) => s.id),
        [json(made).stream.id],
      )
    })

    it('refuses them on change and in an import, row by row', async () => {
      const n = name()
      const made = await createStream(suite.ctx.app, suite.editor, `https://kick.com/${n}`)
      assert.equal(made.statusCode, 201, made.body)
      const patch = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${json(made).stream.id}`,
        headers: suite.editor.headers,
        payload: { stream: { link: `https://kick.com/${n}\u200b` } },
      })
      assert.equal(patch.statusCode, 422, patch.body)
      assert.deepEqual(json(patch).details, refused)

      const imported = await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams/import',
        headers: suite.editor.headers,
        payload: {
          streams: [{ link: `https://kick.com/${n}\u200b` }, { link: `https://kick.com/${n}_other` }],
        },
      })
      assert.equal(imported.statusCode, 200, imported.body)
      const body = json(imported)
      assert.equal(body.failed, 1, imported.body)
      assert.equal(body.created, 1, imported.body)
    })

    it('still takes links whose escapes are visible characters', async () => {
      // `%C3%A9` is é, `%20` a space in the query: visible, so not refused.
      for (const link of [
        `https://example.com/caf%C3%A9/${name()}`,
        `https://example.com/${name()}?q=a%20b`,
      ]) {
        const res = await createStream(suite.ctx.app, suite.editor, link)
        assert.equal(res.statusCode, 201, `${link}: ${res.body}`)
      }
    })
  })
}
