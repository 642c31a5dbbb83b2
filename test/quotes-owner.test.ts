// `GET /api/quote/{id}`: a lead's submitter reads where it stands (how the page catches up after
// `resync_required`); nobody else learns that it exists.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  joinWithPassword,
  json,
  logInElsewhere,
  type TestContext,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`a lead read by its submitter (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app)
    })
    after(() => ctx.close())

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const submit = async (token: string, extra: Record<string, unknown> = {}) => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: bearer(token),
        payload: {
          campaign: slug,
          name: 'Ada Lovelace',
          email: `ada.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`,
          company: 'Analytical Engines',
          phone: '+44 20 7946 0000',
          message: 'We need 40 stands',
          ...extra,
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).result.lead_id as string
    }
    const read = (id: string, token?: string) =>
      ctx.app.inject({ method: 'GET', url: `/api/quote/${id}`, headers: token ? bearer(token) : {} })

    it('answers the session that submitted it with the status, and none of the fields', async () => {
      const { token } = await guestToken(ctx.app)
      const id = await submit(token)
      const res = await read(id, token)
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.deepEqual(Object.keys(body).sort(), ['campaign', 'lead_id', 'status', 'updated_at'])
      assert.equal(body.lead_id, id)
      assert.equal(body.campaign, slug)
      assert.equal(body.status, 'new')
      assert.ok(!Number.isNaN(Date.parse(body.updated_at)))

      const moved = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/${id}`,
        headers: adminHeaders,
        payload: { status: 'contacted' },
      })
      assert.equal(moved.statusCode, 200, moved.body)
      assert.equal(json(await read(id, token)).status, 'contacted')
    })

    it('answers the user who submitted it, from another session too', async () => {
      const grace = await joinWithPassword(ctx.app, slug)
      const id = await submit(grace.token)
      assert.equal((await read(id, grace.token)).statusCode, 200)
      // The same person on another device: a new session, the same user.
      const elsewhere = await logInElsewhere(ctx.app, slug, grace)
      const res = await read(id, elsewhere.token)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).status, 'new')
    })

    it('is a lead that does not exist for any other session', async () => {
      const { token } = await guestToken(ctx.app)
      const id = await submit(token)
      const other = await guestToken(ctx.app)
      const res = await read(id, other.token)
      assert.equal(res.statusCode, 404, res.body)
      assert.equal(json(res).error.code, 'LEAD_NOT_FOUND')
      // The same answer as for an id no lead has: nothing tells the two apart.
      const missing = await read('lead_01ARZ3NDEKTSV4RRFFQ69G5FAV', other.token)
      assert.equal(missing.statusCode, 404)
      assert.equal(json(missing).error.code, 'LEAD_NOT_FOUND')
      assert.equal(
        json(missing).error.message.replace('lead_01ARZ3NDEKTSV4RRFFQ69G5FAV', ''),
        json(res).error.message.replace(id, ''),
      )
    })

    it('refuses an id that is no lead id, and a caller without a token', async () => {
      const { token } = await guestToken(ctx.app)
      for (const bad of [
        '42',
        'lead_',
        'lead_short',
        `lead_${'A'.repeat(27)}`,
        "lead_01ARZ3NDEKTSV4RRFFQ69G5FA'",
      ]) {
        const res = await read(encodeURIComponent(bad), token)
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
      const id = await submit(token)
      assert.equal((await read(id)).statusCode, 401)
    })

    it('does not exist for a honeypot submission, which stored nothing', async () => {
      const { token } = await guestToken(ctx.app)
      const id = await submit(token, { website: 'http://spam.example' })
      assert.match(id, /^lead_/)
      assert.equal((await read(id, token)).statusCode, 404)
    })
  })
}
