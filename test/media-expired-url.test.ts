// An upload URL nobody used before it expired: its uploader reads the upload as failed, `expired`
// (a `PUT` to it is refused), not `pending` for ever; the row itself is never rewritten.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`an upload URL left unused past its expiry (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app)
    })
    after(() => ctx.close())

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const ticket = async (token: string) => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(token),
        payload: { action: 'media.upload', data: { filename: 'dot.png', content_type: 'image/png' } },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result as { media_id: string; upload_url: string; expires_at: string }
    }
    const read = (id: string, token: string) =>
      ctx.app.inject({ method: 'GET', url: `/api/media/${id}`, headers: bearer(token) })
    const expireAt = (id: string, at: Date) =>
      ctx.app.platform.database.db
        .updateTable('service_media_main')
        .set({ upload_expires_at: at })
        .where('id', '=', id)
        .execute()

    it('is pending until its URL expires, then failed with reason expired as of that second', async () => {
      const { token } = await guestToken(ctx.app)
      const t = await ticket(token)
      const before = await read(t.media_id, token)
      assert.equal(json(before).status, 'pending')
      assert.equal(json(before).reason, undefined)

      const at = new Date(Date.now() - 60_000 + 400)
      await expireAt(t.media_id, at)
      const after = await read(t.media_id, token)
      assert.equal(after.statusCode, 200, after.body)
      assert.deepEqual(json(after), {
        media_id: t.media_id,
        campaign: slug,
        status: 'failed',
        reason: 'expired',
        content_type: 'image/png',
        // The whole second the URL carried, as `expires_at` told the client.
        updated_at: new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString(),
      })
      // Only the view says so: the row is untouched, and the quotas already stopped counting it.
      const row = await ctx.app.platform.database.db
        .selectFrom('service_media_main')
        .select(['status', 'failure_reason'])
        .where('id', '=', t.media_id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { status: 'pending', failure_reason: null })
    })

    it('stays pending while its URL has time left', async () => {
      const { token } = await guestToken(ctx.app)
      const t = await ticket(token)
      await expireAt(t.media_id, new Date(Date.now() + 60_000))
      assert.equal(json(await read(t.media_id, token)).status, 'pending')
      // The ticket names the whole second its URL stops working.
      assert.equal(Date.parse(t.expires_at) % 1000, 0)
    })
  })
}
