// `stream.start` without a stream id creates a stream; one person may keep only
// STREAM_OPEN_PER_USER of them open (starting, live or paused) per campaign, so a script cannot
// fill the registry and every visitor's stream list with streams nobody ends.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  sendAction,
  type TestContext,
  userToken,
} from './helper.js'
import { STREAM_URLS } from './streamsource/helpers.js'

for (const dialect of DIALECTS) {
  describe(`open streams per person (${dialect})`, () => {
    let ctx: TestContext
    let owner: string
    let other: string

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '2' } })
      owner = await userToken(ctx.app, 'user_limit_owner')
      other = await userToken(ctx.app, 'user_limit_other')
    })
    after(async () => ctx.close())

    const start = (campaign: string, token: string, payload: Record<string, unknown>) =>
      sendAction(ctx.app, campaign, token, 'stream.start', payload)
    const streamId = (res: LightMyRequestResponse) => {
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result.stream_id as number
    }

    it('refuses a third open stream, names the open ones, and allows one again once a stream ends', async () => {
      const slug = await createCampaign(ctx.app)
      const first = streamId(await start(slug, owner, { title: 'One' }))
      const second = streamId(await start(slug, owner, { title: 'Two' }))
      // Live and paused streams are open too.
      streamId(await start(slug, owner, { stream_id: first }))
      assert.equal(
        (await sendAction(ctx.app, slug, owner, 'stream.pause', { stream_id: first })).statusCode,
        200,
      )

      const refused = await start(slug, owner, { title: 'Three' })
      assert.equal(refused.statusCode, 409, refused.body)
      const { error } = json(refused)
      assert.equal(error.code, 'STREAM_LIMIT_REACHED')
      assert.match(error.message, /at most 2/)
      assert.deepEqual(error.details, { limit: 2, open_stream_ids: [first, second] })

      // Going live with a stream one already has is not a new stream.
      assert.equal((await start(slug, owner, { stream_id: second })).statusCode, 200)
      // The limit is the person's own: someone else starts freely.
      streamId(await start(slug, other, { title: 'Theirs' }))

      assert.equal(
        (await sendAction(ctx.app, slug, owner, 'stream.stop', { stream_id: first })).statusCode,
        200,
      )
      streamId(await start(slug, owner, { title: 'Three, after one ended' }))
    })

    it('counts per campaign', async () => {
      const a = await createCampaign(ctx.app)
      const b = await createCampaign(ctx.app)
      streamId(await start(a, owner, { title: 'A1' }))
      streamId(await start(a, owner, { title: 'A2' }))
      assert.equal((await start(a, owner, { title: 'A3' })).statusCode, 409)
      streamId(await start(b, owner, { title: 'B1' }))
    })

    it('holds when the starts arrive together: exactly the limit are created', async () => {
      const slug = await createCampaign(ctx.app)
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => start(slug, owner, { title: `Burst ${i}` })),
      )
      const codes = answers.map((r) => r.statusCode).sort()
      assert.deepEqual(codes, [200, 200, 409, 409, 409, 409, 409, 409])
      for (const r of answers.filter((r) => r.statusCode === 409)) {
        assert.equal(json(r).error.code, 'STREAM_LIMIT_REACHED')
      }
      const live = json(
        await ctx.app.inject({
          url: `/api/campaign/${slug}/streams/live`,
          headers: { authorization: `Bearer ${owner}` },
        }),
      )
      assert.equal(live.streams.length, 2)
    })
  })
}
