import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { cableApp, subscribe, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/**
 * A link posted again after its stream was archived (by hand, or as an offline stream is) answered
 * the archived row with 200 and left it archived: the monitor took the stream as registered while
 * no wall showed it, and nobody learnt it was back. StreamSource itself made a new, active stream of
 * it; with one row per link, the archived row now comes back unarchived and walls hear `created`.
 */
for (const dialect of DIALECTS) {
  describe(`posting an archived stream's link again (${dialect})`, () => {
    let app: Awaited<ReturnType<typeof cableApp>>
    let owner: TestAccount
    let monitor: TestAccount
    before(async () => {
      app = await cableApp(dialect)
      owner = await account(app.ctx.app, 'editor')
      monitor = await account(app.ctx.app, 'editor')
    })
    after(() => app.close())

    const post = (who: TestAccount, link: string) =>
      app.ctx.app.inject({ method: 'POST', url: '/api/v1/streams', headers: who.headers, payload: { link } })

    it('brings the stream back, for every wall, whoever posts it', async () => {
      const sub = await subscribe(app.consumer(owner.token), 'StreamsChannel')
      const link = uniqueLink()
      const first = await post(owner, link)
      assert.equal(first.statusCode, 201, first.body)
      const id = json(first).stream.id
      const archive = await app.ctx.app.inject({
        method: 'POST',
        url: `/api/v1/streams/${id}/archive`,
        headers: owner.headers,
      })
      assert.equal(json(archive).stream.is_archived, true)

      const again = await post(monitor, link)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(json(again).stream.id, id, 'the same stream')
      assert.equal(json(again).stream.is_archived, false, 'no longer archived')
      const shown = await app.ctx.app.inject({
        method: 'GET',
        url: `/api/v1/streams/${id}`,
        headers: owner.headers,
      })
      assert.equal(json(shown).stream.is_archived, false)
      assert.equal(json(shown).stream.user_id, owner.id, 'still the owner’s')
      await until(
        () => sub.received.filter((m) => m.action === 'created' && m.stream.id === id).length === 2,
        'the stream announced as created again',
      )
      assert.equal(sub.received.findLast((m) => m.stream.id === id).stream.is_archived, false)

      // A link posted again while its stream is not archived still changes nothing.
      const third = await post(monitor, link)
      assert.equal(third.statusCode, 200)
      assert.equal(json(third).stream.updated_at, json(again).stream.updated_at)
    })
  })
}
