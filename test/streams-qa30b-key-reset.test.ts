// A leaked stream key could not be replaced (qa30b): `stream.reset_key` gives the stream a new key
// and the old one is refused from then on. Turning a campaign's `streaming` feature off stranded its
// open streams (live for good, their keys still publishing): they end, and the campaign is told.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction, userToken } from './helper.js'
import { ingestSuite, keyOf, nginxRtmp, startStream } from './streams-qa30b-ingest-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`live stream key reset and streams a campaign stops streaming (${dialect})`, () => {
    const suite = ingestSuite(dialect)
    let owner: string
    before(async () => {
      owner = await userToken(suite.ctx.app, 'user_reset_owner')
    })

    const start = (slug: string) => startStream(suite.ctx.app, slug, owner)
    const publish = (key: string) =>
      nginxRtmp(suite.base, { call: 'publish', name: key, addr: '198.51.100.20' })
    const status = async (id: number) =>
      (
        await suite.ctx.app.platform.database.db
          .selectFrom('service_stream_main')
          .select('live_status')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).live_status

    it('the owner resets the key: the new ingest URL once, the old key refused, the new one accepted', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const s = await start(slug)
      const res = await sendAction(suite.ctx.app, slug, owner, 'stream.reset_key', { stream_id: s.id })
      assert.equal(res.statusCode, 200, res.body)
      const reset = json(res).result as { stream_id: number; status: string; ingest_url: string }
      assert.equal(reset.stream_id, s.id)
      assert.equal(reset.status, 'starting')
      const fresh = keyOf(reset.ingest_url)
      assert.notEqual(fresh, s.key)
      assert.match(fresh, /^[\w-]{20,}$/)
      assert.equal((await publish(s.key)).status, 403)
      assert.equal((await publish(fresh)).status, 302)
    })

    it('someone else may not reset it, nor anyone an ended stream’s', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const s = await start(slug)
      const other = await userToken(suite.ctx.app, 'user_reset_other')
      const refused = await sendAction(suite.ctx.app, slug, other, 'stream.reset_key', { stream_id: s.id })
      assert.equal(refused.statusCode, 403, refused.body)
      assert.equal((await publish(s.key)).status, 302, 'the key still works')
      const stop = await sendAction(suite.ctx.app, slug, owner, 'stream.stop', { stream_id: s.id })
      assert.equal(stop.statusCode, 200, stop.body)
      const ended = await sendAction(suite.ctx.app, slug, owner, 'stream.reset_key', { stream_id: s.id })
      assert.equal(ended.statusCode, 409, ended.body)
      assert.equal(json(ended).error.code, 'INVALID_STREAM_STATE')
    })

    it('turning streaming off ends the campaign’s open streams, announced as a stop, and refuses their keys', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const live = await start(slug)
      const went = await sendAction(suite.ctx.app, slug, owner, 'stream.start', { stream_id: live.id })
      assert.equal(went.statusCode, 200, went.body)
      const starting = await start(slug)
      const patched = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ metadata: { features: FEATURES.filter((f) => f !== 'streaming') } }),
      })
      assert.equal(patched.statusCode, 200, patched.body)
      // The change reaches the live streams once it is heard (on this node at once, or via the bus).
      for (let i = 0; i < 200 && (await status(starting.id)) !== 'ended'; i++)
        await new Promise((r) => setTimeout(r, 25))
      assert.equal(await status(live.id), 'ended')
      assert.equal(await status(starting.id), 'ended')
      for (const id of [live.id, starting.id]) {
        const ended = suite.frames.filter(
          (f) =>
            f.audience.scope === 'campaign' &&
            f.frame.type === 'stream_event' &&
            f.frame.stream_id === id &&
            f.frame.status === 'ended',
        )
        assert.equal(ended.length, 1, `stream ${id} announced ended once`)
      }
      assert.equal((await publish(live.key)).status, 403)
    })
  })
}
