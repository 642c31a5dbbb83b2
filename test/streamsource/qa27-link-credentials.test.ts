import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { createStream, editorApp } from './helpers.js'

/**
 * A link carrying a user name or password (`https://user:secret@host/…`) was stored and shown as
 * entered: every account that may read the list (a `default` one included) and every `/cable`
 * subscriber saw the secret, and `https://twitch.tv@evil.example/…` reads as a Twitch link to an
 * operator while the wall opens `evil.example`.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource links with a user name or password (${dialect})`, () => {
    const suite = editorApp(dialect)
    const name = () => `ch_${randomBytes(4).toString('hex')}`
    const refused = { link: ['must not contain a user name or password'] }

    it('refuses them on create, naming the link', async () => {
      const n = name()
      for (const link of [
        `https://user:secret@twitch.tv/${n}`,
        `https://user@twitch.tv/${n}`,
        `https://:secret@twitch.tv/${n}`,
        `https://twitch.tv@evil.example/${n}`,
      ]) {
        const res = await createStream(suite.ctx.app, suite.editor, link)
        assert.equal(res.statusCode, 422, `${link}: ${res.body}`)
        assert.deepEqual(json(res).details, refused, link)
      }
      // Nothing was stored under the key those links would have had.
      const list = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/v1/streams?search=${n}`,
        headers: suite.editor.headers,
      })
      assert.deepEqual(json(list).streams, [])
    })

    it('refuses them when a stream is changed to one', async () => {
      const n = name()
      const made = await createStream(suite.ctx.app, suite.editor, `https://twitch.tv/${n}`)
      assert.equal(made.statusCode, 201, made.body)
      const res = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${json(made).stream.id}`,
        headers: suite.editor.headers,
        payload: { stream: { link: `https://viewer:hunter2@twitch.tv/${n}` } },
      })
      assert.equal(res.statusCode, 422, res.body)
      assert.deepEqual(json(res).details, refused)
      const read = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/v1/streams/${json(made).stream.id}`,
        headers: suite.editor.headers,
      })
      assert.equal(json(read).stream.link, `https://twitch.tv/${n}`)
    })
  })
}
