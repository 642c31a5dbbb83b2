// Tags as written: a tag of spaces (or of zero-width characters) passed `minLength` and showed a
// blank chip on the campaign page; one with spaces around it (`" spring"`) was never found by
// `GET /api/campaign?tag=spring`; the same tag twice showed twice. Each is refused, naming the
// tag. Tags stored before the check are kept while a patch leaves them alone.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  assertRefused,
  patchCampaign,
  postCampaign,
  storeBeforeChecks,
  storedCampaign,
} from './campaign-fixtures.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  type TestContext,
  uniqueSlug,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`campaign tags are checked when written (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const create = (tags: unknown) => postCampaign(t.app, { tags }, 'tags')
    const refused = assertRefused

    const CASES: Array<[string, string[], string[]]> = [
      ['spaces', ['spring', '   '], ['/metadata/tags/1']],
      ['zero-width', ['\u200b'], ['/metadata/tags/0']],
      ['spaces around', [' spring', 'summer\u00a0'], ['/metadata/tags/0', '/metadata/tags/1']],
      ['the same twice', ['spring', 'summer', 'spring'], ['/metadata/tags/2']],
    ]
    for (const [name, tags, paths] of CASES) {
      it(`refuses a tag of ${name} on create, whole metadata and merge patch`, async () => {
        refused(await create(tags), paths)
        const slug = await createCampaign(t.app, { metadata: { tags: ['kept'] } })
        refused(await patchCampaign(t.app, slug, { metadata: { tags } }), paths)
        refused(await patchCampaign(t.app, slug, { metadata: { tags } }, true), paths)
        assert.deepEqual((await storedCampaign(t.app, slug)).metadata.tags, ['kept'])
      })
    }

    it('accepts tags that differ in case, and finds them by the filter', async () => {
      const res = await create(['Spring', 'spring', 'early bird'])
      assert.equal(res.statusCode, 201, res.body)
      const listed = await t.app.inject({
        method: 'GET',
        url: '/api/campaign?tag=early%20bird',
        headers: adminHeaders,
      })
      assert.ok(json(listed).campaigns.some((c: { slug: string }) => c.slug === json(res).slug))
    })

    it('keeps tags stored before the check while a patch leaves them alone', async () => {
      const slug = await storeBeforeChecks(t.app, { tags: [' spring', 'spring', ' spring'] }, 'legacy_tags')
      for (const merge of [false, true]) {
        const res = await patchCampaign(t.app, slug, { title: `Renamed ${merge}` }, merge)
        assert.equal(res.statusCode, 200, res.body)
      }
      const other = await patchCampaign(t.app, slug, { metadata: { features: ['presence'] } }, true)
      assert.equal(other.statusCode, 200, other.body)
      assert.deepEqual(json(other).metadata.tags, [' spring', 'spring', ' spring'])
      const fixed = await patchCampaign(t.app, slug, { metadata: { tags: ['spring'] } }, true)
      assert.equal(fixed.statusCode, 200, fixed.body)
    })
  })
}

// `GET`, `PATCH`, archive and unarchive answer with the campaign's `ETag`; the `201` of a create
// did not, so a client that keeps the `ETag` of its last answer for `If-Match` had none to send.
for (const dialect of DIALECTS) {
  describe(`campaign create answers with its ETag (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('sends the new version as ETag, which a conditional PATCH then honours', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/campaign',
        headers: adminHeaders,
        payload: { slug: uniqueSlug('etag'), title: 'Tagged' },
      })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.headers.etag, `"${json(res).version}"`)
      const patched = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${json(res).slug}`,
        headers: { ...adminHeaders, 'if-match': res.headers.etag as string },
        payload: { title: 'Renamed' },
      })
      assert.equal(patched.statusCode, 200, patched.body)
    })
  })
}
