// Campaign live streams and erasure (QA pass 24): `DELETE /api/user/{id}` of a person who streams.
// Their streams used to stay on air under the erased account, listed to every visitor with the
// title they typed, their id on the row and the session they started it from in its metadata;
// nobody but an admin could end them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction } from './helper.js'
import { join } from './people-fixtures.js'
import { waitUntil } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const WAIT = 20_000
const TITLE = 'Jane Secretname live from her kitchen'

for (const dialect of DIALECTS) {
  describe(`campaign live streams of an erased person (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS } })

    const row = (id: number) =>
      live.app.platform.database.db
        .selectFrom('service_stream_main')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()

    it("ends the person's open streams, tells the campaign, and keeps nothing that names them", async () => {
      const slug = await createCampaign(live.app)
      const jane = await join(live.app, slug, { name: 'Jane' })
      const start = async (data: Record<string, unknown>) => {
        const res = await sendAction(live.app, slug, jane.token, 'stream.start', data)
        assert.equal(res.statusCode, 200, res.body)
        return json(res).result as { stream_id: number; status: string }
      }
      const onAir = (await start({ title: TITLE })).stream_id
      await start({ stream_id: onAir })
      const soon = (await start({ title: TITLE })).stream_id
      const over = (await start({ title: TITLE })).stream_id
      const stopped = await sendAction(live.app, slug, jane.token, 'stream.stop', { stream_id: over })
      assert.equal(stopped.statusCode, 200, stopped.body)
      // Someone else's stream in the campaign is not touched.
      const bob = await join(live.app, slug, { name: 'Bob' })
      const bobs = json(await sendAction(live.app, slug, bob.token, 'stream.start', { title: 'Bob' })).result
        .stream_id as number

      const visitor = await live.openGuest(slug)
      const before = await live.app.inject({
        url: `/api/campaign/${slug}/streams/live`,
        headers: { authorization: `Bearer ${bob.token}` },
      })
      assert.ok(before.body.includes(TITLE))

      const erased = await live.app.inject({
        method: 'DELETE',
        url: `/api/user/${jane.user.id}`,
        headers: adminHeaders,
      })
      assert.equal(erased.statusCode, 200, erased.body)

      // Visitors are told, as for a stop: the page shows the stream over.
      const endedFrame = (id: number) =>
        visitor.frames.find(
          (f) =>
            f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id && f.status === 'ended',
        )
      await waitUntil(() => !!endedFrame(onAir) && !!endedFrame(soon), WAIT, 'ended frames')
      for (const id of [onAir, soon]) {
        const f = endedFrame(id)!
        assert.equal(JSON.stringify(f).includes(TITLE), false, JSON.stringify(f))
        assert.equal(JSON.stringify(f).includes(jane.user.id), false, JSON.stringify(f))
      }

      const after = await live.app.inject({
        url: `/api/campaign/${slug}/streams/live`,
        headers: { authorization: `Bearer ${bob.token}` },
      })
      assert.equal(after.statusCode, 200, after.body)
      assert.deepEqual(
        json(after).streams.map((s: { stream_id: number }) => s.stream_id),
        [bobs],
      )

      for (const id of [onAir, soon, over]) {
        const r = await row(id)
        assert.equal(r.live_status, 'ended', `stream ${id}`)
        assert.equal(r.status, 'offline', `stream ${id}`)
        const text = JSON.stringify(r)
        assert.equal(text.includes('Secretname'), false, `stream ${id} keeps the title: ${text}`)
        assert.equal(text.includes(jane.user.id), false, `stream ${id} names the person: ${text}`)
        assert.equal(text.includes(jane.session_id), false, `stream ${id} names their session: ${text}`)
      }
      const kept = await row(bobs)
      assert.equal(kept.live_status, 'starting')
      assert.equal(kept.title, 'Bob')

      // Erasing again is harmless (the hooks run again).
      const again = await live.app.inject({
        method: 'DELETE',
        url: `/api/user/${jane.user.id}`,
        headers: adminHeaders,
      })
      assert.equal(again.statusCode, 200, again.body)
    })
  })
}
