import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { rekeyStreamLinks } from '../../src/platform/db/migrations/033_stream_link_keys.js'
import { adminHeaders, DIALECTS, json } from '../helper.js'
import { editorApp } from './helpers.js'

/** A channel name no other test uses, in mixed case. */
const name = () => `Chan${randomBytes(4).toString('hex').toUpperCase()}x`

for (const dialect of DIALECTS) {
  describe(`stream links that differ only in case (${dialect})`, () => {
    const suite = editorApp(dialect)

    const create = (link: string) =>
      suite.ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: suite.editor.headers,
        payload: { link },
      })
    /** A row as the registry stored it before channel names were folded: the key in the link's case. */
    const legacyRow = async (link: string, key: string) => {
      const row = await suite.ctx.app.platform.database.db
        .insertInto('service_stream_main')
        .values({ link, normalized_link: key, platform: 'twitch', user_id: suite.editor.id })
        .returning('id')
        .executeTakeFirstOrThrow()
      return Number(row.id)
    }

    it("are one stream where the platform's names ignore case; the link shows as first entered", async () => {
      const n = name()
      const first = await create(`https://twitch.tv/${n}`)
      assert.equal(first.statusCode, 201)
      const again = await create(`https://www.twitch.tv/${n.toLowerCase()}/`)
      assert.equal(again.statusCode, 200, 'a duplicate answers the existing stream')
      assert.equal(json(again).stream.id, json(first).stream.id)
      assert.equal(json(again).stream.link, `https://twitch.tv/${n}`)

      const handle = await create(`https://youtube.com/@${n}`)
      assert.equal(handle.statusCode, 201)
      const handleAgain = await create(`https://youtube.com/@${n.toUpperCase()}`)
      assert.equal(json(handleAgain).stream.id, json(handle).stream.id)
    })

    it('stay apart where case matters (video ids, clip slugs)', async () => {
      const n = name()
      const video = await create(`https://youtube.com/watch?v=${n}`)
      const other = await create(`https://youtube.com/watch?v=${n.toLowerCase()}`)
      assert.equal(video.statusCode, 201)
      assert.equal(other.statusCode, 201)
      assert.notEqual(json(other).stream.id, json(video).stream.id)
    })

    it('are caught against rows stored before the change, by create, list, import, batch and update', async () => {
      const n = name()
      const legacyLink = `https://twitch.tv/${n}`
      const id = await legacyRow(legacyLink, `twitch.tv/${n}`)
      const lower = `https://twitch.tv/${n.toLowerCase()}`

      const created = await create(lower)
      assert.equal(created.statusCode, 200)
      assert.equal(json(created).stream.id, id)

      const listed = await suite.ctx.app.inject({
        url: `/api/v1/streams?link=${encodeURIComponent(lower)}`,
        headers: suite.editor.headers,
      })
      assert.deepEqual(
        json(listed).streams.map((s: { id: number }) => s.id),
        [id],
      )

      const imported = await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams/import',
        headers: suite.editor.headers,
        payload: { streams: [{ link: `https://twitch.tv/${n.toUpperCase()}` }] },
      })
      assert.equal(json(imported).duplicates, 1)
      assert.equal(json(imported).results[0].id, id)

      const batch = await suite.ctx.app.inject({
        method: 'PATCH',
        url: '/api/v1/streams/batch',
        headers: suite.editor.headers,
        payload: [{ link: lower, title: 'Found by link' }],
      })
      assert.equal(json(batch).results[0].id, id)
      assert.equal(json(batch).results[0].success, true)

      // Its own link in another case is no clash: the link shows as entered.
      const renamed = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${id}`,
        headers: suite.editor.headers,
        payload: { link: lower },
      })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.equal(json(renamed).stream.link, lower)

      // Another stream may not take it in any case.
      const other = json(await create(`https://kick.com/${name()}`)).stream.id
      const taken = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${other}`,
        headers: suite.editor.headers,
        payload: { link: `https://twitch.tv/${n.toUpperCase()}` },
      })
      assert.equal(taken.statusCode, 422)
      assert.deepEqual(json(taken).details, { link: ['has already been taken'] })
    })

    it('keep the case that matters when matching rows stored before the change', async () => {
      const n = name()
      const id = await legacyRow(`https://twitch.tv/${n}/clip/AbC`, `twitch.tv/${n}/clip/AbC`)
      // A clip's key is its slug alone now (`clips.twitch.tv/AbC`): the upgrade re-keys such rows.
      await rekeyStreamLinks(suite.ctx.app.platform.database.db)
      const same = await create(`https://twitch.tv/${n.toLowerCase()}/clip/AbC`)
      assert.equal(json(same).stream.id, id)
      const otherClip = await create(`https://twitch.tv/${n.toLowerCase()}/clip/abc`)
      assert.equal(otherClip.statusCode, 201)
      const list = await suite.ctx.app.inject({
        url: `/api/v1/streams?link=${encodeURIComponent(`https://twitch.tv/${n}/clip/abc`)}`,
        headers: adminHeaders,
      })
      assert.deepEqual(
        json(list).streams.map((s: { id: number }) => s.id),
        [json(otherClip).stream.id],
      )
    })
  })
}
