// A refusal that tells the client to come back later (429 with Retry-After) is not the request's
// answer: an action that claims its request id first (a join) used to record it as the request's
// outcome, so the client's retry under the same request_id, sent after Retry-After as told, was
// answered the stored 429 for 24 h while the action never ran; and the 429 itself lost its
// Retry-After header (a recorded answer keeps its status and body only).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'

/** Joins with a password allowed per client network and minute (user.service.ts `LoginLimits`). */
const PASSWORD_JOINS_PER_NETWORK = 30

for (const dialect of DIALECTS) {
  describe(`an action refused with 429 keeps its request id free (${dialect})`, () => {
    let t: TestContext
    let slug: string

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
    })
    after(() => t.close())

    const join = (token: string, network: string, requestId: string, email: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': network },
        payload: {
          type: 'campaign_event',
          event: 'user.register',
          payload: { email, name: 'Ada', password: 'correct horse battery staple' },
          request_id: requestId,
        },
      })

    it('answers the 429 with Retry-After, and a retry under the same request_id runs the join', async () => {
      const busy = '10.29.4.1'
      for (let i = 0; i < PASSWORD_JOINS_PER_NETWORK; i++) {
        const { token } = await guestToken(t.app)
        const res = await join(token, busy, `fill_${i}`, `fill.${i}.${Date.now()}@example.org`)
        assert.equal(res.statusCode, 200, res.body)
      }
      const { token } = await guestToken(t.app)
      const email = `ada.${Date.now()}@example.org`
      const limited = await join(token, busy, 'join_ada_1', email)
      assert.equal(limited.statusCode, 429, limited.body)
      assert.equal(json(limited).error.code, 'RATE_LIMITED')
      assert.ok(Number(limited.headers['retry-after']) >= 1, 'the 429 says when to come back')

      // The limit is behind her (here: she moved to another network): the same request again.
      const retried = await join(token, '10.29.5.1', 'join_ada_1', email)
      assert.equal(retried.statusCode, 200, retried.body)
      assert.equal(retried.headers['idempotent-replayed'], undefined, 'it ran, not a replay of the 429')
      assert.equal(json(retried).result.user.email, email)

      // And that answer is the request's: a further copy is its replay.
      const again = await join(token, '10.29.5.1', 'join_ada_1', email)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.equal(json(again).result.user.id, json(retried).result.user.id)
    })
  })
}
