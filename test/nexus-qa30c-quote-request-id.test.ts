// `POST /api/quote` runs the `quote.submit` action, and answers as the action endpoint does: its
// `request_id` is the HTTP request's (`X-Request-Id`, echoed), never a third id of its own that no
// log line names, and a client's `X-Request-Id` keys the record (a retry replays) or, when it
// cannot, is refused rather than silently replaced.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS, json } from './helper.js'
import { guestSuite } from './nexus-qa30c-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`POST /api/quote's request id (${dialect})`, () => {
    const suite = guestSuite(dialect)

    const submit = (headers: Record<string, string> = {}, email = 'ada@example.com') =>
      suite.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { ...suite.auth(), ...headers },
        payload: { campaign: suite.slug, name: 'Ada', email },
      })

    it("answers with the HTTP request's id, as the action endpoint does", async () => {
      const res = await submit()
      assert.equal(res.statusCode, 200, res.body)
      assert.match(res.headers['x-request-id'] as string, /^[0-9A-Z]{26}$/)
      assert.equal(json(res).request_id, res.headers['x-request-id'])
      const action = await suite.app.inject({
        method: 'POST',
        url: `/api/${suite.slug}/update`,
        headers: suite.auth(),
        payload: { action: 'quote.submit', data: { name: 'Ada', email: 'ada@example.com' } },
      })
      assert.equal(action.statusCode, 200, action.body)
      assert.equal(json(action).request_id, action.headers['x-request-id'])
    })

    it("keys the record by a client's X-Request-Id: its retry is the first answer", async () => {
      const headers = { 'x-request-id': 'quote-retry.30c' }
      const first = await submit(headers, 'grace@example.com')
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(json(first).request_id, 'quote-retry.30c')
      const again = await submit(headers, 'grace@example.com')
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(again), json(first))
    })

    it('refuses an X-Request-Id that cannot key the record (400 at /x-request-id)', async () => {
      const res = await submit({ 'x-request-id': 'has space' }, 'lin@example.com')
      assert.equal(res.statusCode, 400, res.body)
      const { error, request_id } = json(res)
      assert.equal(error.code, 'VALIDATION_FAILED')
      assert.deepEqual(
        error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
        [['headers', '/x-request-id']],
      )
      assert.equal(request_id, res.headers['x-request-id'])
      // With an Idempotency-Key the header only names the request in logs.
      const keyed = await submit(
        { 'x-request-id': 'has space', 'idempotency-key': 'q-key-30c' },
        'lin@example.com',
      )
      assert.equal(keyed.statusCode, 200, keyed.body)
      assert.equal(json(keyed).request_id, 'q-key-30c')
    })
  })
}
