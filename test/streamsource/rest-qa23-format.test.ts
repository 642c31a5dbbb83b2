import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/**
 * `format` was compared in lower case only, and anything else fell back to JSON: `format=CSV`
 * downloaded JSON (named `.json`), `format=ARRAY` gave a wall display an object, `format=xml` a
 * JSON answer nobody asked for.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource format parameter (${dialect})`, () => {
    let ctx: TestContext
    let editor: TestAccount
    before(async () => {
      ctx = await buildTestApp({ dialect })
      editor = await account(ctx.app, 'editor')
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link: uniqueLink() },
      })
      assert.equal(res.statusCode, 201, res.body)
    })
    after(() => ctx.close())
    const get = (url: string) => ctx.app.inject({ method: 'GET', url, headers: editor.headers })

    it('takes the format in any case', async () => {
      const csv = await get('/api/v1/streams/export?format=CSV')
      assert.equal(csv.statusCode, 200, csv.body)
      assert.match(String(csv.headers['content-type']), /^text\/csv/)
      assert.match(String(csv.headers['content-disposition']), /\.csv"$/)
      assert.match(csv.body, /^id,link,status/)
      const array = await get('/api/v1/streams?format=Array&per_page=1')
      assert.equal(array.statusCode, 200, array.body)
      assert.ok(Array.isArray(json(array)), array.body)
      for (const url of ['/api/v1/streams?format=json&per_page=1', '/api/v1/streams?format=&per_page=1']) {
        const res = await get(url)
        assert.equal(res.statusCode, 200, res.body)
        assert.ok(json(res).meta, url)
      }
      const exported = await get('/api/v1/streams/export?format=JSON')
      assert.equal(exported.statusCode, 200, exported.body)
      assert.equal(typeof json(exported).count, 'number')
    })

    it('refuses a format it does not answer in with a 422 naming it', async () => {
      for (const [url, list] of [
        ['/api/v1/streams/export?format=xml', 'json, csv'],
        ['/api/v1/streams/export?format=array', 'json, csv'],
        ['/api/v1/streams?format=csv', 'json, array'],
      ] as const) {
        const res = await get(url)
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
        assert.deepEqual(json(res).details, { format: [`is not included in the list (${list})`] })
      }
    })
  })
}
