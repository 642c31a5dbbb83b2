// `If-Match` as RFC 9110 (§13.1.1) reads it: `*` or a list of entity-tags, compared strongly. A
// well-formed tag that names no version of the campaign (`"0"`, a weak tag, a list of stale ones)
// is a precondition that fails, 412 `PRECONDITION_FAILED`, nothing changed; it was a 400, so a
// client that retries on 400 as its own mistake never learnt that the campaign had moved on. A
// list naming the current version passes. Only a header that is no entity-tag list is 400.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { storedCampaign } from './campaign-fixtures.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`campaign If-Match as RFC 9110 reads it (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const patch = (slug: string, ifMatch: string, title: string) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json', 'if-match': ifMatch },
        payload: JSON.stringify({ title }),
      })
    const archive = (slug: string, ifMatch: string) =>
      t.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'if-match': ifMatch },
      })

    it('answers a well-formed tag that matches no version 412, on PATCH and archive, changing nothing', async () => {
      const slug = await createCampaign(t.app)
      const { version } = await storedCampaign(t.app, slug)
      const never = [
        '"0"',
        '"abc"',
        '""',
        `W/"${version}"`,
        `"${version + 1}", "99"`,
        `"0${version}"`,
        `"${version}x"`,
      ]
      for (const header of never) {
        const res = await patch(slug, header, 'changed')
        assert.equal(res.statusCode, 412, `${header}: ${res.body}`)
        assert.equal(json(res).error.code, 'PRECONDITION_FAILED', header)
        const archived = await archive(slug, header)
        assert.equal(archived.statusCode, 412, `${header}: ${archived.body}`)
      }
      const stored = await storedCampaign(t.app, slug)
      assert.equal(stored.version, version)
      assert.equal(stored.archived_at, null)
      assert.notEqual(stored.title, 'changed')
    })

    it('passes a list naming the current version, and *', async () => {
      const slug = await createCampaign(t.app)
      const { version } = await storedCampaign(t.app, slug)
      const listed = await patch(slug, `"0", W/"1", "${version}"`, 'listed')
      assert.equal(listed.statusCode, 200, listed.body)
      const spaced = await patch(slug, `  "0" ,, "${version + 1}"  `, 'spaced')
      assert.equal(spaced.statusCode, 200, spaced.body)
      assert.equal((await patch(slug, '*', 'any')).statusCode, 200)
      assert.equal((await storedCampaign(t.app, slug)).title, 'any')
    })

    it('answers a header that is no entity-tag list 400 INVALID_IF_MATCH', async () => {
      const slug = await createCampaign(t.app)
      const { version } = await storedCampaign(t.app, slug)
      for (const header of [
        `${version}`,
        `"${version}`,
        `W/${version}`,
        `*, "${version}"`,
        `"${version}" "1"`,
        '"a b"',
      ]) {
        const res = await patch(slug, header, 'bad')
        assert.equal(res.statusCode, 400, `${header}: ${res.body}`)
        assert.equal(json(res).error.code, 'INVALID_IF_MATCH', header)
      }
      assert.equal((await storedCampaign(t.app, slug)).version, version)
    })
  })
}
