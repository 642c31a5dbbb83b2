// QA pass 29b: an admin's erasure of one lead (`DELETE /api/campaign/{slug}/leads/{id}`, for
// someone who never registered) cleared the lead's metadata, budget and interest, but the
// analytics log kept the submission's copy of them (only name, email, phone, company and message
// are redacted there): what a form sends in `metadata` (a LinkedIn URL, an IP, a job title) outlived
// the erasure. Other people's submissions stay as they were logged.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`erasing one lead reaches the analytics log, pass 29b (${dialect})`, () => {
    const s = suiteApp({ dialect })

    const submit = (token: string, slug: string, fields: Record<string, unknown>, action = false) =>
      action
        ? s.app.inject({
            method: 'POST',
            url: `/api/${slug}/update`,
            headers: { authorization: `Bearer ${token}` },
            payload: { action: 'submit_quote', data: fields },
          })
        : s.app.inject({
            method: 'POST',
            url: '/api/quote',
            headers: { authorization: `Bearer ${token}` },
            payload: { campaign: slug, ...fields },
          })
    const logged = async (slug: string) =>
      JSON.stringify(
        await s.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select(['event', 'payload', 'metadata'])
          .where('campaign_slug', '=', slug)
          .execute(),
      )

    it("scrubs the lead's submissions from the log, both routes, and no one else's", async () => {
      const slug = await createCampaign(s.app)
      const grace = await guestToken(s.app)
      const other = await guestToken(s.app)
      const fields = (email: string, tag: string) => ({
        name: 'Someone',
        email,
        budget: `about 5k (${tag}-budget)`,
        interest: `${tag}-interest`,
        metadata: { linkedin: `https://linkedin.example/in/${tag}`, utm_source: 'newsletter' },
      })
      const id = json(await submit(grace.token, slug, fields('grace@example.com', 'grace-brewster'))).result
        .lead_id
      // Her resubmission through the action (the `submit_quote` alias) merges into the same lead.
      const again = json(await submit(grace.token, slug, fields('grace@example.com', 'grace-again'), true))
      assert.deepEqual([again.result.lead_id, again.result.updated], [id, true])
      await submit(other.token, slug, fields('linus@example.com', 'linus-keeps'))
      const before = await logged(slug)
      assert.ok(before.includes('grace-brewster') && before.includes('grace-again'), before)

      const erased = await s.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/leads/${id}`,
        headers: adminHeaders,
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const after = await logged(slug)
      for (const tag of ['grace-brewster', 'grace-again']) assert.equal(after.includes(tag), false, after)
      assert.ok(after.includes('linus-keeps'), "another person's submission is left as logged")
      // The rows stay (the counters were counted from them).
      const rows = await s.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select('event')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(rows.length, 3)
    })
  })
}
