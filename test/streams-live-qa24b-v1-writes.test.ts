// Campaign live streams and the StreamSource v1 API (QA pass 24b). A campaign's live stream is a
// registry row, and `PATCH`/`PUT`/`DELETE /api/v1/streams/{id}` and the batch update changed or
// deleted it without a `stream_event` to the campaign's sockets: pages kept showing a stream that
// was deleted, or its old title. A stream that has not ended is run by its campaign (stream.start /
// pause / stop, each announced), so registry writes to it are now refused (409
// `LIVE_STREAM_OPEN`) until it has ended; pin and archive, which campaign pages do not show, stay.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction } from './helper.js'
import { join } from './people-fixtures.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const TITLE = 'Town hall, live'

for (const dialect of DIALECTS) {
  describe(`registry writes to a campaign live stream (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS } })
    const v1 = (method: 'PATCH' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: unknown) =>
      live.app.inject({
        method,
        url: `/api/v1${url}`,
        headers: adminHeaders,
        ...(payload ? { payload } : {}),
      })
    const current = async (slug: string, token: string) => {
      const res = await live.app.inject({
        url: `/api/campaign/${slug}/streams/live`,
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).streams as Array<{ stream_id: number; title: string; status: string }>
    }

    it('refuses to change or delete a stream that has not ended, so pages never go stale', async () => {
      const slug = await createCampaign(live.app)
      const owner = await join(live.app, slug, { name: 'Ann' })
      const started = await sendAction(live.app, slug, owner.token, 'stream.start', { title: TITLE })
      assert.equal(started.statusCode, 200, started.body)
      const id = json(started).result.stream_id as number
      const visitor = await live.openGuest(slug)
      await visitor.next((f) => f.type === 'connected')
      const onAir = await sendAction(live.app, slug, owner.token, 'stream.start', { stream_id: id })
      assert.equal(onAir.statusCode, 200, onAir.body)
      await visitor.next((f) => f.type === 'stream_event' && f.stream_id === id && f.status === 'live')

      for (const [name, res] of [
        ['PATCH', await v1('PATCH', `/streams/${id}`, { stream: { title: 'Renamed by the wall' } })],
        ['PUT', await v1('PUT', `/streams/${id}`, { title: 'Replaced by the wall', status: 'offline' })],
        ['DELETE', await v1('DELETE', `/streams/${id}`)],
      ] as const) {
        assert.equal(res.statusCode, 409, `${name}: ${res.body}`)
        assert.match(json(res).error, /campaign live stream that has not ended/, `${name}: ${res.body}`)
      }
      const batch = await v1('PATCH', '/streams/batch', { streams: [{ id, title: 'Batch title' }] })
      assert.equal(batch.statusCode, 200, batch.body)
      assert.deepEqual(
        json(batch).results.map((r: { success: boolean; status: string }) => [r.success, r.status]),
        [[false, 'error']],
      )
      assert.match(json(batch).results[0].error, /has not ended/)

      // Pin and archive change nothing a campaign page shows: they stay open to the wall.
      assert.equal((await v1('PUT', `/streams/${id}/pin`)).statusCode, 200)

      // The row, the pages' read and the registry all still say what the campaign was told.
      const reg = json(await live.app.inject({ url: `/api/v1/streams/${id}`, headers: adminHeaders }))
      assert.equal(reg.title, TITLE)
      assert.equal(reg.status, 'live')
      assert.deepEqual(
        (await current(slug, owner.token)).map((s) => [s.stream_id, s.title, s.status]),
        [[id, TITLE, 'live']],
      )

      // The owner ends it: the socket hears that (and nothing in between changed the title).
      const stopped = await sendAction(live.app, slug, owner.token, 'stream.stop', { stream_id: id })
      assert.equal(stopped.statusCode, 200, stopped.body)
      await visitor.next((f) => f.type === 'stream_event' && f.stream_id === id && f.status === 'ended')
      const statuses = visitor.frames.filter(
        (f) => f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id,
      )
      assert.deepEqual(
        statuses.map((f) => [f.status, f.title]),
        [
          ['live', TITLE],
          ['ended', TITLE],
        ],
      )

      // Ended, no page shows it: it is a registry row like any other.
      const renamed = await v1('PATCH', `/streams/${id}`, { stream: { title: 'Archive copy' } })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.equal((await v1('DELETE', `/streams/${id}`)).statusCode, 204)
      assert.deepEqual(await current(slug, owner.token), [])
    })

    it('leaves registry streams that are not a campaign stream as they were', async () => {
      const created = await v1('POST', '/streams', { stream: { link: 'https://twitch.tv/qa24b_wall' } })
      assert.equal(created.statusCode, 201, created.body)
      const id = json(created).id as number
      const patched = await v1('PATCH', `/streams/${id}`, { stream: { title: 'Wall' } })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal((await v1('DELETE', `/streams/${id}`)).statusCode, 204)
    })
  })
}
