import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'
import { mediaSuite, uploadTicket } from './media-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`media QA 28, file names (${dialect})`, () => {
    const suite = mediaSuite(dialect)

    it('accepts ".." inside a name, stores it as a name and serves it under it', async () => {
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
        .png()
        .toBuffer()
      for (const filename of ['v1..2.png', 'Final..draft.png', '..hidden.png', 'wait...png', '...']) {
        const t = await uploadTicket(suite.app, suite.slug, suite.auth, {
          filename,
          content_type: 'image/png',
          size: png.length,
        })
        assert.equal(t.status, 200, `${filename}: ${JSON.stringify(t.body)}`)
        const put = await fetch(suite.base + t.body.result.upload_url, {
          method: 'PUT',
          body: new Uint8Array(png),
        })
        const ready = await put.json()
        assert.equal(put.status, 200, JSON.stringify(ready))
        assert.equal(ready.filename, filename)
        // The storage key is made of the campaign and the id: the name never reaches a path.
        const row = await suite.app.platform.database.db
          .selectFrom('service_media_main')
          .select('storage_key')
          .where('id', '=', ready.media_id)
          .executeTakeFirstOrThrow()
        assert.equal(row.storage_key, `${suite.slug}/${ready.media_id}/original`)
        const served = await fetch(`${suite.base}/media/${ready.media_id}`)
        assert.equal(served.status, 200)
        assert.match(served.headers.get('content-disposition')!, new RegExp(`filename\\*=UTF-8''${filename}`))
      }
    })

    it('still refuses "." or ".." alone, any separator, controls and bidirectional overrides', async () => {
      for (const filename of [
        '..',
        '.',
        '../x.png',
        'a/../b.png',
        '..\\x.png',
        'a/b.png',
        'a\\b.png',
        'a\u0007b.png',
        'a\u202Eb.png',
      ]) {
        const t = await uploadTicket(suite.app, suite.slug, suite.auth, {
          filename,
          content_type: 'image/png',
        })
        assert.equal(t.status, 400, JSON.stringify(filename))
        assert.equal(t.body.error.code, 'INVALID_FILENAME', JSON.stringify(filename))
      }
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`media QA 28, one ownership rule for reading back and deleting (${dialect})`, () => {
    let ctx: TestContext
    let slug: string

    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app)
    })
    after(async () => ctx?.close())

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const upload = async (auth: Record<string, string>) => {
      const t = await uploadTicket(ctx.app, slug, auth, { filename: 'a.png', content_type: 'image/png' })
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return t.body.result.media_id as string
    }
    /** Whether `auth` reads `id` back, and whether it may delete it: always both or neither. */
    async function sees(auth: Record<string, string>, id: string) {
      const read = await ctx.app.inject({ method: 'GET', url: `/api/media/${id}`, headers: auth })
      const del = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/media/${id}`,
        headers: auth,
      })
      assert.ok(
        (read.statusCode === 200 && del.statusCode === 204) ||
          (read.statusCode === 404 && del.statusCode === 403),
        `read ${read.statusCode}, delete ${del.statusCode}`,
      )
      return read.statusCode === 200
    }

    it('lets exactly those who read an upload back delete it', async () => {
      const { token: guest } = await guestToken(ctx.app)
      const joined = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(guest),
        payload: {
          campaign: slug,
          name: 'Owner',
          email: `owner.${Date.now()}@example.org`,
          password: 'p4ssw0rd long enough',
        },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const member = bearer(json(joined).token)
      const stranger = bearer((await guestToken(ctx.app)).token)
      const elsewhere = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: bearer((await guestToken(ctx.app)).token),
        payload: { email: json(joined).user.email, password: 'p4ssw0rd long enough', campaign: slug },
      })
      assert.equal(elsewhere.statusCode, 200, elsewhere.body)
      const otherDevice = bearer(json(elsewhere).token)

      // What the person uploaded as the member, from the session they joined from.
      assert.equal(await sees(stranger, await upload(member)), false)
      assert.equal(await sees(otherDevice, await upload(member)), true)
      assert.equal(await sees(bearer(guest), await upload(member)), true)
      assert.equal(await sees(member, await upload(member)), true)
      // What the guest token of that session uploads after the join.
      assert.equal(await sees(member, await upload(bearer(guest))), true)
      // The person's from any device: that session is one they joined from.
      assert.equal(await sees(otherDevice, await upload(bearer(guest))), true)
      assert.equal(await sees(stranger, await upload(bearer(guest))), false)
    })
  })
}
