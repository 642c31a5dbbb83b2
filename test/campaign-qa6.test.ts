// Campaign configuration, sixth QA pass: a merge patch's top-level `null` (RFC 7396: remove the
// member) resets `description` and `draft` to a new campaign's defaults rather than a 400, while
// `title`, which has no default, is refused naming it; archive and unarchive honour `If-Match` as
// PATCH does (412 `PRECONDITION_FAILED` on a stale tag, nothing changed).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`campaign configuration, sixth QA pass (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
    })
    after(() => t.close())

    const get = async (slug: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders })
      assert.equal(res.statusCode, 200, res.body)
      return json(res)
    }
    const mergePatch = (slug: string, payload: unknown) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify(payload),
      })
    const archive = (slug: string, ifMatch?: string) =>
      t.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
      })
    const unarchive = (slug: string, ifMatch?: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/unarchive`,
        headers: { ...adminHeaders, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
      })

    describe('merge patch: a top-level null', () => {
      it('resets the description to none, and the audit trail records it', async () => {
        const slug = await createCampaign(t.app)
        const described = await mergePatch(slug, { description: 'Spring sale, all week' })
        assert.equal(described.statusCode, 200, described.body)

        const res = await mergePatch(slug, { description: null })
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).description, '')
        assert.equal(res.headers.etag, `"${json(described).version + 1}"`)
        assert.equal((await get(slug)).description, '')
        const audit = json(
          await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}/audit`, headers: adminHeaders }),
        )
        assert.deepEqual(audit.entries[0].changes, { description: { from: 'Spring sale, all week', to: '' } })
      })

      it('resets draft to false, with metadata null and version null (no precondition) in the same patch', async () => {
        const slug = await createCampaign(t.app, { draft: true, metadata: { tags: ['spring'] } })
        const res = await mergePatch(slug, { draft: null, metadata: null, version: null })
        assert.equal(res.statusCode, 200, res.body)
        const stored = await get(slug)
        assert.equal(stored.draft, false)
        assert.deepEqual(stored.metadata, {})
        assert.equal(stored.status, 'active')
      })

      it('on a description already empty changes nothing (the version stays)', async () => {
        const slug = await createCampaign(t.app)
        const before = await get(slug)
        const res = await mergePatch(slug, { description: null })
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).version, before.version)
      })

      it('refuses the title, which has no default, naming /title; nothing changes', async () => {
        const slug = await createCampaign(t.app)
        const before = await get(slug)
        const res = await mergePatch(slug, { title: null, description: 'would be set' })
        assert.equal(res.statusCode, 400, res.body)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.equal(error.details.length, 1)
        assert.equal(error.details[0].path, '/title')
        assert.match(error.details[0].message, /cannot be null: a campaign always has a title/)
        const after = await get(slug)
        assert.equal(after.version, before.version)
        assert.equal(after.title, before.title)
        assert.equal(after.description, '')
      })

      it('still refuses a slug, naming /slug, and a title of the wrong type, naming /title', async () => {
        const slug = await createCampaign(t.app)
        const bySlug = await mergePatch(slug, { slug: null })
        assert.equal(bySlug.statusCode, 400, bySlug.body)
        assert.ok(
          json(bySlug).error.details.some((d: { path: string }) => d.path === '/slug'),
          bySlug.body,
        )
        const wrongType = await mergePatch(slug, { title: 5 })
        assert.equal(wrongType.statusCode, 400, wrongType.body)
        assert.ok(
          json(wrongType).error.details.every((d: { path: string }) => d.path === '/title'),
          wrongType.body,
        )
      })
    })

    describe('archive and unarchive honour If-Match', () => {
      it('archive: a stale tag is 412 and changes nothing; the current tag archives', async () => {
        const slug = await createCampaign(t.app)
        const first = await get(slug)
        const moved = await mergePatch(slug, { description: 'moved on' })
        assert.equal(moved.statusCode, 200, moved.body)

        const stale = await archive(slug, `"${first.version}"`)
        assert.equal(stale.statusCode, 412, stale.body)
        assert.equal(json(stale).error.code, 'PRECONDITION_FAILED')
        const unchanged = await get(slug)
        assert.equal(unchanged.status, 'active')
        assert.equal(unchanged.archived_at, null)
        assert.equal(unchanged.version, json(moved).version)

        const current = await archive(slug, moved.headers.etag as string)
        assert.equal(current.statusCode, 200, current.body)
        assert.equal(json(current).status, 'archived')
        assert.equal(current.headers.etag, `"${json(moved).version + 1}"`)
        assert.equal(current.headers.etag, `"${(await get(slug)).version}"`)
      })

      it('unarchive: a stale tag is 412 and leaves it archived; the current tag restores', async () => {
        const slug = await createCampaign(t.app)
        const before = await get(slug)
        const archived = await archive(slug)
        assert.equal(archived.statusCode, 200, archived.body)

        const stale = await unarchive(slug, `"${before.version}"`)
        assert.equal(stale.statusCode, 412, stale.body)
        assert.equal(json(stale).error.code, 'PRECONDITION_FAILED')
        const still = await get(slug)
        assert.equal(still.status, 'archived')
        assert.equal(still.version, json(archived).version)

        const current = await unarchive(slug, archived.headers.etag as string)
        assert.equal(current.statusCode, 200, current.body)
        assert.equal(json(current).archived_at, null)
        assert.equal(current.headers.etag, `"${json(archived).version + 1}"`)
      })

      it('a stale tag is 412 even when there is nothing to do (already archived)', async () => {
        const slug = await createCampaign(t.app)
        const before = await get(slug)
        const archived = await archive(slug)
        assert.equal(archived.statusCode, 200, archived.body)
        const again = await archive(slug, `"${before.version}"`)
        assert.equal(again.statusCode, 412, again.body)
        const sameTag = await archive(slug, archived.headers.etag as string)
        assert.equal(sameTag.statusCode, 200, sameTag.body)
        assert.equal(sameTag.headers.etag, archived.headers.etag)
      })

      it('without If-Match (or with *) both still work; a weak tag is 412, a list passes when it names the version', async () => {
        const slug = await createCampaign(t.app)
        const archived = await archive(slug)
        assert.equal(archived.statusCode, 200, archived.body)
        assert.equal(json(archived).status, 'archived')
        const restored = await unarchive(slug, '*')
        assert.equal(restored.statusCode, 200, restored.body)
        assert.equal(json(restored).archived_at, null)

        const etag = restored.headers.etag as string
        const weak = await archive(slug, `W/${etag}`)
        assert.equal(weak.statusCode, 412, weak.body)
        assert.equal(json(weak).error.code, 'PRECONDITION_FAILED')
        const malformed = await archive(slug, etag.slice(1, -1))
        assert.equal(malformed.statusCode, 400, malformed.body)
        assert.equal(json(malformed).error.code, 'INVALID_IF_MATCH')
        assert.equal((await get(slug)).archived_at, null)
        const listed = await archive(slug, `${etag}, "1"`)
        assert.equal(listed.statusCode, 200, listed.body)
      })
    })
  })
}
