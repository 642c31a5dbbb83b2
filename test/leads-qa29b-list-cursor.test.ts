// QA pass 29b: the admin lead list paged only by offset (`page`), so a list read while leads
// arrive (the campaign is live) or while editors move them out of a `status` filter showed some
// leads twice and skipped others. `before` (the last lead id seen) pages on from that lead,
// whatever arrived or moved since; a `before` that names no lead of the campaign is 400.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`the lead list pages with a cursor, pass 29b (${dialect})`, () => {
    const s = suiteApp({ dialect })

    const submit = async (slug: string, token: string, email: string): Promise<string> => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: 'Ada', email },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result.lead_id
    }
    const list = (slug: string, query: string) =>
      s.app.inject({ method: 'GET', url: `/api/campaign/${slug}/leads?${query}`, headers: adminHeaders })
    const ids = async (slug: string, query: string) => {
      const res = await list(slug, query)
      assert.equal(res.statusCode, 200, res.body)
      return json(res).leads.map((l: { id: string }) => l.id)
    }

    it('pages on from the last lead seen while new leads arrive and leads leave the filter', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const [l1, l2, l3, l4, l5] = [
        await submit(slug, token, 'one@example.com'),
        await submit(slug, token, 'two@example.com'),
        await submit(slug, token, 'three@example.com'),
        await submit(slug, token, 'four@example.com'),
        await submit(slug, token, 'five@example.com'),
      ]
      assert.deepEqual(await ids(slug, 'status=new&per_page=2'), [l5, l4])
      // While the editor reads page one, two leads arrive and the editor moves the two seen on.
      await submit(slug, token, 'six@example.com')
      await submit(slug, token, 'seven@example.com')
      for (const id of [l5, l4]) {
        const moved = await s.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/leads/${id}`,
          headers: adminHeaders,
          payload: { status: 'contacted' },
        })
        assert.equal(moved.statusCode, 200, moved.body)
      }
      // The next page is the one after l4, though l4 is no longer `new` itself.
      assert.deepEqual(await ids(slug, `status=new&per_page=2&before=${l4}`), [l3, l2])
      assert.deepEqual(await ids(slug, `status=new&per_page=2&before=${l2}`), [l1])
      assert.deepEqual(await ids(slug, `status=new&per_page=2&before=${l1}`), [])
      // Unfiltered, `total` still counts every lead matching the filters.
      const all = json(await list(slug, `per_page=50&before=${l3}`))
      assert.deepEqual([all.leads.map((l: { id: string }) => l.id), all.total], [[l2, l1], 7])
    })

    it('refuses a cursor that names no lead of the campaign, or no lead id at all, with 400', async () => {
      const slug = await createCampaign(s.app)
      const other = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      await submit(slug, token, 'here@example.com')
      const elsewhere = await submit(other, token, 'there@example.com')
      for (const before of [elsewhere, 'lead_01HZZZZZZZZZZZZZZZZZZZZZZZ']) {
        const res = await list(slug, `before=${before}`)
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'INVALID_CURSOR')
        assert.match(json(res).error.message, /before/)
      }
      for (const before of ['nope', `${elsewhere}x`, '']) {
        const res = await list(slug, `before=${encodeURIComponent(before)}`)
        assert.equal(res.statusCode, 400, `${before}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
    })
  })
}
