// Campaign live streams (QA pass 26): a status frame went to every socket of the campaign with the
// owner's user id in it, while the live read promises "never who owns the others". Visitors now get
// no owner; the owner's own sockets get the frame again, marked `mine: true`.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, json, sendAction, userToken } from './helper.js'
import { type TestClient, waitUntil } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const WAIT = 20_000

const statusFrames = (c: TestClient, id: number) =>
  c.frames.filter((f) => f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id)

for (const dialect of DIALECTS) {
  describe(`campaign live stream status frames and their owner (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: STREAM_URLS })

    it('tells visitors the status without the owner, and the owner that the stream is theirs', async () => {
      const slug = await createCampaign(live.app)
      const ownerId = `user_owner_${slug}`
      const owner = await userToken(live.app, ownerId)
      const other = await userToken(live.app, `user_other_${slug}`)
      const ownerTab = await live.open(`/ws/${slug}/${ownerId}?token=${owner}`)
      const otherTab = await live.open(`/ws/${slug}/user_other_${slug}?token=${other}`)
      const guestTab = await live.openGuest(slug)

      const started = await sendAction(live.app, slug, owner, 'stream.start', { title: 'Launch' })
      assert.equal(started.statusCode, 200, started.body)
      const id = json(started).result.stream_id as number
      const onAir = await sendAction(live.app, slug, owner, 'stream.start', { stream_id: id })
      assert.equal(onAir.statusCode, 200, onAir.body)

      const seen = (c: TestClient) => statusFrames(c, id).filter((f) => f.status === 'live')
      await waitUntil(() => seen(guestTab).length >= 1 && seen(otherTab).length >= 1, WAIT, 'visitors told')
      await waitUntil(() => seen(ownerTab).some((f) => f.mine === true), WAIT, 'the owner told it is theirs')

      for (const c of [guestTab, otherTab]) {
        for (const f of statusFrames(c, id)) {
          assert.equal(JSON.stringify(f).includes(ownerId), false, JSON.stringify(f))
          assert.equal('owner_id' in f, false)
          assert.equal(f.mine, undefined)
        }
        assert.equal(seen(c)[0]!.title, 'Launch')
      }
      for (const f of statusFrames(ownerTab, id)) assert.equal('owner_id' in f, false)
      const mine = seen(ownerTab).find((f) => f.mine === true)!
      assert.equal(mine.title, 'Launch')
      assert.equal(mine.status, 'live')
    })
  })
}
