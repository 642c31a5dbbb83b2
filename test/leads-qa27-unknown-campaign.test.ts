// QA pass 27 on the leads admin routes: one lead's routes (read, move, erase) under a campaign
// that does not exist answered `LEAD_NOT_FOUND`, where the list and the export answer
// `CAMPAIGN_NOT_FOUND`: a script could not tell a mistyped slug from a lead that is gone.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp, uniqueSlug } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`leads of an unknown campaign, pass 27 (${dialect})`, () => {
    const s = suiteApp({ dialect })

    const call = (method: 'GET' | 'PATCH' | 'DELETE', url: string) =>
      s.app.inject({
        method,
        url,
        headers: adminHeaders,
        ...(method === 'PATCH' ? { payload: { status: 'contacted' } } : {}),
      })

    it('answers CAMPAIGN_NOT_FOUND on every lead route for an unknown slug, LEAD_NOT_FOUND for an unknown lead', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const submitted = await s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: 'Ada', email: 'ada@example.com' },
      })
      assert.equal(submitted.statusCode, 200, submitted.body)
      const lead = json(submitted).result.lead_id as string
      const missing = uniqueSlug('gone')

      for (const [method, url] of [
        ['GET', `/api/campaign/${missing}/leads`],
        ['GET', `/api/campaign/${missing}/leads.csv`],
        ['GET', `/api/campaign/${missing}/leads/${lead}`],
        ['PATCH', `/api/campaign/${missing}/leads/${lead}`],
        ['DELETE', `/api/campaign/${missing}/leads/${lead}`],
        ['GET', `/api/campaign/${missing}/leads/lead_nothing`],
        ['PATCH', `/api/campaign/${missing}/leads/lead_nothing`],
        ['DELETE', `/api/campaign/${missing}/leads/lead_nothing`],
      ] as const) {
        const res = await call(method, url)
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'CAMPAIGN_NOT_FOUND', `${method} ${url}`)
      }

      // The campaign exists: an unknown lead, or another campaign's, is the lead's 404.
      const other = await createCampaign(s.app)
      for (const [method, url] of [
        ['GET', `/api/campaign/${slug}/leads/lead_nothing`],
        ['PATCH', `/api/campaign/${slug}/leads/lead_nothing`],
        ['DELETE', `/api/campaign/${slug}/leads/lead_nothing`],
        ['GET', `/api/campaign/${other}/leads/${lead}`],
        ['PATCH', `/api/campaign/${other}/leads/${lead}`],
        ['DELETE', `/api/campaign/${other}/leads/${lead}`],
      ] as const) {
        const res = await call(method, url)
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'LEAD_NOT_FOUND', `${method} ${url}`)
      }

      // Nothing above touched the lead.
      const read = await call('GET', `/api/campaign/${slug}/leads/${lead}`)
      assert.equal(read.statusCode, 200, read.body)
      assert.deepEqual([json(read).status, json(read).erased], ['new', false])
    })
  })
}
