// `stream.reset_key` had no REST route (qa32c), while the other actions' services have one:
// `POST /api/campaign/{slug}/streams/{id}/reset-key` runs the same service with the action's roles,
// statuses, answer and errors.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import { createCampaign, DIALECTS, guestToken, sendAction, userToken } from './helper.js'
import { ingestSuite, keyOf, nginxRtmp, startStream } from './streams-qa30b-ingest-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`POST /api/campaign/{slug}/streams/{id}/reset-key (${dialect})`, () => {
    const suite = ingestSuite(dialect)
    let owner: string
    before(async () => {
      owner = await userToken(suite.ctx.app, 'user_rest_reset_owner')
    })

    const reset = (slug: string, id: number | string, token: string) =>
      fetch(`${suite.base}/api/campaign/${slug}/streams/${id}/reset-key`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
    const publish = (key: string) =>
      nginxRtmp(suite.base, { call: 'publish', name: key, addr: '198.51.100.30' })

    it('the owner gets a new ingest URL (the action’s answer), the old key refused, the new one accepted', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const s = await startStream(suite.ctx.app, slug, owner)
      const res = await reset(slug, s.id, owner)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      const body = (await res.json()) as Record<string, unknown>
      assert.deepEqual(Object.keys(body).sort(), ['ingest_url', 'playback_url', 'status', 'stream_id'])
      assert.equal(body.stream_id, s.id)
      assert.equal(body.status, 'starting')
      assert.equal(body.playback_url, `https://cdn.test/${slug}/${s.id}.m3u8`)
      const fresh = keyOf(body.ingest_url as string)
      assert.notEqual(fresh, s.key)
      assert.equal((await publish(s.key)).status, 403)
      assert.equal((await publish(fresh)).status, 302)
    })

    it('an editor of the campaign may reset it; another participant and a guest may not', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const s = await startStream(suite.ctx.app, slug, owner)
      const other = await userToken(suite.ctx.app, 'user_rest_reset_other')
      const refused = await reset(slug, s.id, other)
      assert.equal(refused.status, 403)
      assert.equal(((await refused.json()) as any).error.code, 'FORBIDDEN')
      const guest = await reset(slug, s.id, (await guestToken(suite.ctx.app)).token)
      assert.equal(guest.status, 403)
      assert.equal(((await guest.json()) as any).error.code, 'FORBIDDEN')
      assert.equal((await publish(s.key)).status, 302, 'the key still works')

      const { token: editor } = await suite.ctx.app.platform.tokens.issueUser({
        userId: 'user_rest_reset_editor',
        roles: ['editor'],
      })
      const res = await reset(slug, s.id, editor)
      assert.equal(res.status, 200)
      assert.equal((await publish(s.key)).status, 403, 'the editor’s reset replaced the key')
    })

    it('an ended stream is 409 INVALID_STREAM_STATE; another campaign’s is 404; without streaming 403', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const s = await startStream(suite.ctx.app, slug, owner)
      const elsewhere = await createCampaign(suite.ctx.app)
      const missing = await reset(elsewhere, s.id, owner)
      assert.equal(missing.status, 404)
      assert.equal(((await missing.json()) as any).error.code, 'STREAM_NOT_FOUND')
      const off = await createCampaign(suite.ctx.app, { features: FEATURES.filter((f) => f !== 'streaming') })
      const disabled = await reset(off, s.id, owner)
      assert.equal(disabled.status, 403)
      assert.equal(((await disabled.json()) as any).error.code, 'FEATURE_DISABLED')

      const stop = await sendAction(suite.ctx.app, slug, owner, 'stream.stop', { stream_id: s.id })
      assert.equal(stop.statusCode, 200, stop.body)
      const ended = await reset(slug, s.id, owner)
      assert.equal(ended.status, 409)
      assert.equal(((await ended.json()) as any).error.code, 'INVALID_STREAM_STATE')
    })
  })
}
