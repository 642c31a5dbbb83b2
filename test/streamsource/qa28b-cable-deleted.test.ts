import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { cableApp, subscribe, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/**
 * A deleted stream was announced on `StreamsChannel` only as `action: "deleted"`, which the binding
 * wire contract does not list (`created`, `updated`, `archived`): a wall built to it (the seeds'
 * `switch (data.action)`, removing a stream on `archived`) never heard of the deletion and kept
 * showing the stream. A deletion is now announced as `archived` (the stream's last state,
 * `is_archived` true) before the `deleted` kept for clients that tell them apart.
 */
for (const dialect of DIALECTS) {
  describe(`StreamsChannel deletion, as a wall built to the contract sees it (${dialect})`, () => {
    let app: Awaited<ReturnType<typeof cableApp>>
    let editor: TestAccount
    before(async () => {
      app = await cableApp(dialect)
      editor = await account(app.ctx.app, 'editor')
    })
    after(() => app.close())

    const post = async (link: string) => {
      const res = await app.ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link, title: 'Wall' },
      })
      assert.equal(res.statusCode, 201, res.body)
      return json(res).stream.id as number
    }

    it('a deleted stream leaves the wall', async () => {
      const sub = await subscribe(app.consumer(editor.token), 'StreamsChannel')
      // The wall of the contract: only the three actions it names.
      const wall = new Map<number, any>()
      let read = 0
      /** Applies the frames not yet seen; then whether `streamId` is on the wall. */
      const onWall = (streamId: number) => {
        for (const data of sub.received.slice(read)) {
          read++
          switch (data.action) {
            case 'created':
              wall.set(data.stream.id, data.stream)
              break
            case 'updated':
              if (wall.has(data.stream.id)) wall.set(data.stream.id, data.stream)
              break
            case 'archived':
              wall.delete(data.stream.id)
              break
          }
        }
        return wall.has(streamId)
      }
      const id = await post(uniqueLink())
      await until(() => onWall(id), 'the stream on the wall')

      const del = await app.ctx.app.inject({
        method: 'DELETE',
        url: `/api/v1/streams/${id}`,
        headers: editor.headers,
      })
      assert.equal(del.statusCode, 204, del.body)
      // Broadcasts arrive in order: once the next stream is on the wall, the deletion was heard.
      const marker = await post(uniqueLink())
      await until(() => onWall(marker), 'the next stream on the wall')
      assert.equal(wall.has(id), false, 'the deleted stream is still on the wall')

      const frames = sub.received.filter((f) => f.stream?.id === id)
      const archived = frames.find((f) => f.action === 'archived' && f.stream.id === id)
      assert.ok(archived, 'announced as archived')
      assert.equal(archived.stream.is_archived, true)
      assert.equal(archived.stream.title, 'Wall', 'with its last state')
      assert.deepEqual(
        frames.map((f) => f.action),
        ['created', 'archived', 'deleted'],
      )
    })
  })
}
