import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

for (const dialect of DIALECTS) {
  describe(`streams an editor API key creates (${dialect})`, () => {
    let ctx: TestContext
    let keyA: { 'x-api-key': string }
    let keyB: { authorization: string }
    let editor: TestAccount

    before(async () => {
      ctx = await buildTestApp({ dialect })
      const keys = ctx.app.platform.apiKeys
      keyA = { 'x-api-key': (await keys.create({ name: 'monitor', role: 'editor' })).key }
      keyB = { authorization: `Bearer ${(await keys.create({ name: 'checker', role: 'editor' })).key}` }
      editor = await account(ctx.app, 'editor')
    })
    after(async () => ctx.close())

    it('the key that created a stream may change and delete it; other editors may not, admins may', async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: keyA,
        payload: { link: uniqueLink(), posted_by: 'discord_user#1234' },
      })
      assert.equal(created.statusCode, 201, created.body)
      const stream = json(created).stream
      // StreamSource's shape: `user` is an account, and a key is none; `posted_by` is the client's.
      assert.equal(stream.user_id, null)
      assert.equal(stream.user, null)
      assert.equal(stream.posted_by, 'discord_user#1234')
      assert.equal(Object.hasOwn(stream, 'apikey_id'), false, 'the key id stays internal')

      const as = (
        headers: Record<string, string>,
        method: 'PATCH' | 'PUT' | 'DELETE' | 'POST',
        url: string,
      ) =>
        ctx.app.inject({
          method,
          url,
          headers,
          ...(method === 'PATCH' ? { payload: { status: 'live' } } : {}),
        })
      const url = `/api/v1/streams/${stream.id}`
      for (const [method, path] of [
        ['PATCH', url],
        ['PUT', `${url}/pin`],
        ['POST', `${url}/archive`],
        ['DELETE', url],
      ] as const) {
        for (const other of [keyB, editor.headers]) {
          const res = await as(other, method, path)
          assert.equal(res.statusCode, 403, `${method} ${path} by another editor`)
        }
      }
      const patched = await as(keyA, 'PATCH', url)
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(json(patched).stream.status, 'live')
      assert.equal((await as(keyA, 'PUT', `${url}/pin`)).statusCode, 200)
      const batch = await ctx.app.inject({
        method: 'PATCH',
        url: '/api/v1/streams/batch',
        headers: keyA,
        payload: [{ id: stream.id, title: 'By batch' }],
      })
      assert.equal(json(batch).updated, 1, batch.body)
      const byAdmin = await ctx.app.inject({
        method: 'PATCH',
        url,
        headers: adminHeaders,
        payload: { title: 'By admin' },
      })
      assert.equal(byAdmin.statusCode, 200)
      assert.equal((await as(keyA, 'DELETE', url)).statusCode, 204)
      assert.equal((await ctx.app.inject({ url, headers: keyA })).statusCode, 404)
    })

    it("a key may not change an account's stream, nor an account a key's", async () => {
      const mine = json(
        await ctx.app.inject({
          method: 'POST',
          url: '/api/v1/streams',
          headers: editor.headers,
          payload: { link: uniqueLink() },
        }),
      ).stream
      const keys = json(
        await ctx.app.inject({
          method: 'POST',
          url: '/api/v1/streams/import',
          headers: keyB,
          payload: [{ link: uniqueLink() }],
        }),
      ).results[0].stream
      const patch = (headers: Record<string, string>, id: number) =>
        ctx.app.inject({
          method: 'PATCH',
          url: `/api/v1/streams/${id}`,
          headers,
          payload: { title: 'x' },
        })
      assert.equal((await patch(keyA, mine.id)).statusCode, 403)
      assert.equal((await patch(editor.headers, keys.id)).statusCode, 403)
      assert.equal((await patch(keyB, keys.id)).statusCode, 200, 'an imported stream is the key’s too')
      assert.equal((await patch(editor.headers, mine.id)).statusCode, 200)
    })
  })
}
