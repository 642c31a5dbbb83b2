import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Static } from 'typebox'
import type { LeadFilters, PatchLeadBody } from '../src/modules/quote/quote.schema.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

const ALLOWED = 'must be one of: new, contacted, qualified, won, lost'

// The status stays the union in TypeScript (checked by `tsc`): a schema change that widened it to
// `string` or narrowed it to `never` would fail these lines.
const patched: Static<typeof PatchLeadBody>['status'] = 'won'
const filtered: LeadFilters['status'] = 'lost'
// @ts-expect-error: not a lead status
const wrong: Static<typeof PatchLeadBody>['status'] = 'bogus'
void [patched, filtered, wrong]

for (const dialect of DIALECTS) {
  describe(`a wrong lead status is one error naming the allowed values (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    let leadId: string

    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app, { features: ['quote'] })
      const guest = await guestToken(ctx.app)
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, name: 'Ada Lovelace', email: 'ada@example.com' },
      })
      assert.equal(res.statusCode, 200, res.body)
      leadId = json(res).result.lead_id
    })
    after(async () => {
      await ctx?.close()
    })

    it('GET …/leads?status=bogus', async () => {
      const res = await ctx.app.inject({
        url: `/api/campaign/${slug}/leads?status=bogus`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 400, res.body)
      const { error } = json(res)
      assert.equal(error.code, 'VALIDATION_FAILED')
      assert.deepEqual(error.details, [{ in: 'query', path: '/status', message: ALLOWED }])
    })

    it('GET …/leads.csv?status=bogus', async () => {
      const res = await ctx.app.inject({
        url: `/api/campaign/${slug}/leads.csv?status=bogus`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 400, res.body)
      assert.deepEqual(json(res).error.details, [{ in: 'query', path: '/status', message: ALLOWED }])
    })

    it('PATCH …/leads/{id} {"status":"bogus"}, and a non-string status', async () => {
      for (const status of ['bogus', 7]) {
        const res = await ctx.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/leads/${leadId}`,
          headers: adminHeaders,
          payload: { status },
        })
        assert.equal(res.statusCode, 400, res.body)
        const details = json(res).error.details as Array<{ in: string; path: string; message: string }>
        assert.ok(
          details.some((d) => d.in === 'body' && d.path === '/status' && d.message === ALLOWED),
          JSON.stringify(details),
        )
        assert.ok(!details.some((d) => /constant|anyOf/.test(d.message)), JSON.stringify(details))
        if (status === 'bogus') assert.equal(details.length, 1, JSON.stringify(details))
      }
    })

    it('the allowed values still filter and move a lead', async () => {
      const moved = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/${leadId}`,
        headers: adminHeaders,
        payload: { status: 'contacted' },
      })
      assert.equal(moved.statusCode, 200, moved.body)
      assert.equal(json(moved).status, 'contacted')
      const list = await ctx.app.inject({
        url: `/api/campaign/${slug}/leads?status=contacted`,
        headers: adminHeaders,
      })
      assert.equal(list.statusCode, 200, list.body)
      assert.deepEqual(
        json(list).leads.map((l: { id: string }) => l.id),
        [leadId],
      )
    })
  })
}
