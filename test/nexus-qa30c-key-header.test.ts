// The `Idempotency-Key` header and the body's `request_id` both name the request's key. When they
// differ the header was silently ignored: a client that set the header (its HTTP library's retry
// policy) believed its retries were keyed by it. Refused instead, naming both.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS, json } from './helper.js'
import { guestSuite } from './nexus-qa30c-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`Idempotency-Key against the body's request_id (${dialect})`, () => {
    const { post, recorded } = guestSuite(dialect)

    it('refuses a header that differs from the body (422 IDEMPOTENCY_KEY_MISMATCH) and runs nothing', async () => {
      for (const payload of [
        { action: 'content.create', data: { n: 1 }, request_id: 'body-key' },
        { type: 'campaign_event', event: 'content.create', payload: { n: 1 }, request_id: 'body-key' },
      ]) {
        const res = await post(payload, { 'idempotency-key': 'header-key' })
        assert.equal(res.statusCode, 422, res.body)
        const { error } = json(res)
        assert.equal(error.code, 'IDEMPOTENCY_KEY_MISMATCH')
        assert.match(error.message, /Idempotency-Key/)
        assert.deepEqual(
          error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
          [
            ['headers', '/idempotency-key'],
            ['body', '/request_id'],
          ],
        )
      }
      assert.equal(await recorded('body-key'), 0)
      assert.equal(await recorded('header-key'), 0)
    })

    it('takes both when they agree, and the header alone keys the record', async () => {
      const both = await post(
        { action: 'content.create', data: { n: 2 }, request_id: 'same-key' },
        { 'idempotency-key': 'same-key' },
      )
      assert.equal(both.statusCode, 200, both.body)
      assert.equal(json(both).request_id, 'same-key')
      const alone = await post(
        { action: 'content.create', data: { n: 3 } },
        { 'idempotency-key': 'only-header' },
      )
      assert.equal(alone.statusCode, 200, alone.body)
      assert.equal(json(alone).request_id, 'only-header')
      // The retry under the header alone, or with the key now also in the body, is the first run's.
      for (const retry of [
        await post({ action: 'content.create', data: { n: 3 } }, { 'idempotency-key': 'only-header' }),
        await post({ action: 'content.create', data: { n: 3 }, request_id: 'only-header' }),
      ]) {
        assert.equal(retry.statusCode, 200, retry.body)
        assert.equal(retry.headers['idempotent-replayed'], 'true')
      }
      assert.equal(await recorded('only-header'), 1)
    })
  })
}
