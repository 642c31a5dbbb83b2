import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { usage } from '../src/modules/media/media.repo.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
  sendAction,
  listenLocally,
} from './helper.js'
import { filesUnder } from './media-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`erasing a person erases their uploads (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let slug: string
    let photo: Buffer

    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      slug = await createCampaign(ctx.app)
      photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c84' } })
        .jpeg()
        .withExifMerge({ IFD0: { Artist: 'Erin Example' } })
        .toBuffer()
    })
    after(async () => ctx.close())

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    async function ticket(token: string, filename: string) {
      const res = await sendAction(ctx.app, slug, token, 'upload_media', {
        filename,
        content_type: 'image/jpeg',
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result as { media_id: string; upload_url: string }
    }
    async function upload(token: string, filename: string) {
      const t = await ticket(token, filename)
      const res = await fetch(base + t.upload_url, { method: 'PUT', body: new Uint8Array(photo) })
      assert.equal(res.status, 200, await res.text())
      return t
    }
    const row = (id: string) =>
      ctx.app.platform.database.db
        .selectFrom('service_media_main')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()

    it('deletes what they uploaded as a guest and as a member: files, rows and quota', async () => {
      const guest = await guestToken(ctx.app)
      const asGuest = await upload(guest.token, 'Erin at the lake.jpg')
      const unused = await ticket(guest.token, 'Erin later.jpg')
      const joined = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(guest.token),
        payload: {
          action: 'user.register',
          data: {
            email: `erin_${randomBytes(4).toString('hex')}@example.com`,
            name: 'Erin',
            password: 'correct horse 42',
          },
        },
      })
      assert.equal(joined.statusCode, 200, joined.body)
      const { user, token } = json(joined).result
      const asMember = await upload(token, 'Erin at home.jpg')
      const bystander = await upload((await guestToken(ctx.app)).token, 'someone else.jpg')
      for (const id of [asGuest.media_id, asMember.media_id]) {
        assert.equal((await fetch(`${base}/media/${id}`)).status, 200)
        assert.ok(filesUnder(join(ctx.config.MEDIA_DIR, slug, id)).length > 0)
      }

      const erased = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/user/${user.id}`,
        headers: bearer(token),
      })
      assert.equal(erased.statusCode, 200, erased.body)

      for (const id of [asGuest.media_id, asMember.media_id]) {
        assert.equal((await fetch(`${base}/media/${id}`)).status, 404)
        assert.equal((await fetch(`${base}/media/${id}/thumbnail`)).status, 404)
        assert.equal(await row(id), undefined, 'no row: neither file name nor metadata is left')
        assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, id)), [], 'no bytes on disk')
      }
      // The upload URL they had not used yet is gone with its reservation.
      assert.equal(await row(unused.media_id), undefined)
      const late = await fetch(base + unused.upload_url, { method: 'PUT', body: new Uint8Array(photo) })
      assert.equal(late.status, 404)
      // Nothing of theirs counts against a quota any more.
      const db = ctx.app.platform.database.db
      const now = new Date()
      assert.equal(await usage(db, { user_id: user.id }, now, new Date(0)), 0)
      assert.equal(await usage(db, { session_id: guest.session_id }, now, new Date(0)), 0)
      // Someone else's upload is not touched.
      assert.equal((await fetch(`${base}/media/${bystander.media_id}`)).status, 200)
      assert.ok(filesUnder(join(ctx.config.MEDIA_DIR, slug, bystander.media_id)).length > 0)
    })
  })
}
