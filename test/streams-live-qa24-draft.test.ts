// `GET /api/campaign/{slug}/streams/live` of a draft campaign (QA pass 24). A draft is not
// announced: its page (`GET /api/campaign/{slug}`), its leaderboard and its sockets are refused to
// all but editors, as an unknown slug is. The live streams read answered any session with the
// draft's streams, their titles included (a campaign put back to draft keeps its streams).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  adminHeaders,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  suiteApp,
  userToken,
} from './helper.js'
import { STREAM_URLS } from './streamsource/helpers.js'

for (const dialect of DIALECTS) {
  describe(`live streams of a draft campaign (${dialect})`, () => {
    const suite = suiteApp({ dialect, env: { ...STREAM_URLS } })

    const read = (slug: string, headers: Record<string, string>) =>
      suite.app.inject({ url: `/api/campaign/${slug}/streams/live`, headers })

    it('is 404 CAMPAIGN_NOT_FOUND to all but editors, as the draft itself is', async () => {
      const slug = await createCampaign(suite.app)
      const owner = await userToken(suite.app, `user_owner_${slug}`)
      const started = await sendAction(suite.app, slug, owner, 'stream.start', {
        title: 'Unannounced launch',
      })
      assert.equal(started.statusCode, 200, started.body)
      const id = json(started).result.stream_id as number
      assert.equal(
        (await sendAction(suite.app, slug, owner, 'stream.start', { stream_id: id })).statusCode,
        200,
      )

      // Put back to draft while the stream is on.
      const drafted = await suite.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { draft: true },
      })
      assert.equal(drafted.statusCode, 200, drafted.body)

      const guest = { authorization: `Bearer ${(await guestToken(suite.app)).token}` }
      const page = await suite.app.inject({ url: `/api/campaign/${slug}`, headers: guest })
      assert.equal(page.statusCode, 404, page.body)
      for (const headers of [guest, { authorization: `Bearer ${owner}` }]) {
        const res = await read(slug, headers)
        assert.equal(res.statusCode, 404, res.body)
        assert.equal(json(res).error.code, 'CAMPAIGN_NOT_FOUND')
        assert.equal(res.body.includes('Unannounced'), false)
        // Word for word what an unknown campaign answers, but the slug.
        const unknown = await read(`${slug}-x`, headers)
        assert.equal(unknown.statusCode, 404)
        assert.deepEqual(
          JSON.parse(res.body.replaceAll(slug, 'S')).error,
          JSON.parse(unknown.body.replaceAll(`${slug}-x`, 'S')).error,
        )
      }
      // Editors (an admin here) prepare the launch: they read it.
      const editor = await read(slug, adminHeaders)
      assert.equal(editor.statusCode, 200, editor.body)
      assert.deepEqual(
        json(editor).streams.map((s: { stream_id: number }) => s.stream_id),
        [id],
      )
    })
  })
}
