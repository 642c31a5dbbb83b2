// Campaign live streams (QA pass 29e): a stream left on when its campaign stops being active (its
// end time passed, an editor made it a draft again, an admin archived it) could not be ended by
// anyone: `stream.stop` was refused 409 `CAMPAIGN_NOT_ACTIVE` like any action, and the registry
// refuses to change or delete an open campaign stream (409 `LIVE_STREAM_OPEN`). It stayed `live`
// on every stream wall, held one of its owner's open slots, and was ticked for viewers for good.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction, suiteApp, userToken } from './helper.js'
import { goLive } from './live-stream-fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

for (const dialect of DIALECTS) {
  describe(`campaign live streams of a campaign no longer active (${dialect})`, () => {
    const t = suiteApp({ dialect, env: STREAM_URLS })

    const patch = (slug: string, payload: object) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify(payload),
      })
    const closers: Array<[string, (slug: string) => Promise<{ statusCode: number; body: string }>]> = [
      ['ended', (slug) => patch(slug, { metadata: { scheduling: { end: '2000-01-01T00:00:00Z' } } })],
      ['draft', (slug) => patch(slug, { draft: true })],
      [
        'archived',
        (slug) => t.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      ],
    ]

    for (const [status, close] of closers) {
      it(`its owner ends a stream left on when the campaign became ${status}`, async () => {
        const slug = await createCampaign(t.app)
        const owner = await userToken(t.app, `user_owner_${slug}`)
        const id = await goLive(t.app, slug, owner, 'Left on')
        const paused = await goLive(t.app, slug, owner, 'Paused')
        assert.equal(
          (await sendAction(t.app, slug, owner, 'stream.pause', { stream_id: paused })).statusCode,
          200,
        )
        const closed = await close(slug)
        assert.equal(closed.statusCode, 200, closed.body)

        // Going live, pausing and chatting take part in the campaign: still refused.
        const again = await sendAction(t.app, slug, owner, 'stream.start', { stream_id: paused })
        assert.equal(again.statusCode, 409, again.body)
        assert.deepEqual(
          [json(again).error.code, json(again).error.details],
          ['CAMPAIGN_NOT_ACTIVE', { status }],
        )
        const created = await sendAction(t.app, slug, owner, 'stream.start', { title: 'New' })
        assert.equal(json(created).error.code, 'CAMPAIGN_NOT_ACTIVE')

        // Ending one is not: the owner stops one, an admin the other.
        const stopped = await sendAction(t.app, slug, owner, 'stream.stop', { stream_id: id })
        assert.equal(stopped.statusCode, 200, stopped.body)
        assert.equal(json(stopped).result.status, 'ended')
        const admin = await userToken(t.app, `user_admin_${slug}`, ['admin'])
        const byAdmin = await sendAction(t.app, slug, admin, 'stream.stop', { stream_id: paused })
        assert.equal(byAdmin.statusCode, 200, byAdmin.body)

        // The registry now shows both offline, as any stopped stream.
        for (const streamId of [id, paused]) {
          const row = await t.app.inject({ url: `/api/v1/streams/${streamId}`, headers: adminHeaders })
          assert.equal(row.statusCode, 200, row.body)
          assert.equal(json(row).stream.status, 'offline')
          assert.equal(json(row).stream.campaign.live_status, 'ended')
        }
      })
    }

    it('someone not the owner still may not end it: 403', async () => {
      const slug = await createCampaign(t.app)
      const owner = await userToken(t.app, `user_owner_${slug}`)
      const id = await goLive(t.app, slug, owner)
      const [, close] = closers[0]!
      assert.equal((await close(slug)).statusCode, 200)
      const other = await userToken(t.app, `user_other_${slug}`)
      const refused = await sendAction(t.app, slug, other, 'stream.stop', { stream_id: id })
      assert.equal(refused.statusCode, 403, refused.body)
      assert.equal(json(refused).error.code, 'FORBIDDEN')
    })
  })
}
