// An `X-Request-Id` that keys an action's idempotency record must be one the server keeps: one
// that fails the request id pattern used to be replaced by the server's own id in silence, so the
// action kept no record and the client's retry with the same header ran it again.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`an action's X-Request-Id (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      auth = { authorization: `Bearer ${(await guestToken(t.app)).token}` }
    })
    after(() => t.close())

    const post = (payload: object, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `/api/${slug}/update`, headers: { ...auth, ...headers }, payload })
    const counted = async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      return Number(json(res).events['content.create'] ?? 0)
    }

    it('refuses one that cannot key the record (400 at /x-request-id), and runs nothing', async () => {
      const before = await counted()
      for (const bad of ['order 42', 'a/b', 'x'.repeat(129), 'Root=1-5759e988;Sampled=1']) {
        const res = await post(
          { action: 'content.create', data: { title: 'bad id' } },
          { 'x-request-id': bad },
        )
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.match(error.message, /X-Request-Id/)
        assert.deepEqual(
          error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
          [['headers', '/x-request-id']],
        )
        // The answer names the request by the server's id, never the refused text.
        assert.match(res.headers['x-request-id'] as string, /^[0-9A-Z]{26}$/)
      }
      assert.equal(await counted(), before, 'no action ran')
    })

    it('a retry with a valid one is answered from the record, not run again', async () => {
      const before = await counted()
      const headers = { 'x-request-id': 'order-42.retry:1' }
      const first = await post({ action: 'content.create', data: { title: 'kept' } }, headers)
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(json(first).request_id, 'order-42.retry:1')
      const again = await post({ action: 'content.create', data: { title: 'kept' } }, headers)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.equal(await counted(), before + 1)
    })

    it('takes a bad one where the body or Idempotency-Key keys the record (the header then only names it in logs)', async () => {
      const bad = { 'x-request-id': 'has space' }
      const inBody = await post(
        { action: 'content.create', data: { title: 'b' }, request_id: 'body-key-26' },
        bad,
      )
      assert.equal(inBody.statusCode, 200, inBody.body)
      assert.equal(json(inBody).request_id, 'body-key-26')
      const byKey = await post(
        { action: 'content.create', data: { title: 'k' } },
        { ...bad, 'idempotency-key': 'header-key-26' },
      )
      assert.equal(byKey.statusCode, 200, byKey.body)
      assert.equal(json(byKey).request_id, 'header-key-26')
    })
  })
}
