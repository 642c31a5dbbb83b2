// A retry is the same request whatever order its JSON keys come in: clients rebuild a body from a
// map or a form on each attempt, and key order is no part of a JSON object's meaning (RFC 8259).
// The fingerprint hashed the text as parsed, so the same payload in another key order was
// refused as a different request (422 IDEMPOTENCY_KEY_REUSED) and the client's retry failed.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { canonicalJson } from '../src/nexus/idempotency.js'
import { DIALECTS, json } from './helper.js'
import { guestSuite } from './nexus-qa30c-fixtures.js'

describe('canonicalJson', () => {
  it('writes one text for one value, whatever order its keys came in', () => {
    const a = JSON.parse('{"b":1,"10":[{"y":1,"x":2}],"2":null,"__proto__":{"q":1,"p":2}}')
    const b = JSON.parse('{"__proto__":{"p":2,"q":1},"2":null,"10":[{"x":2,"y":1}],"b":1}')
    assert.equal(canonicalJson(a), canonicalJson(b))
    assert.deepEqual(JSON.parse(canonicalJson(a)), JSON.parse(JSON.stringify(a)))
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]))
  })
})

for (const dialect of DIALECTS) {
  describe(`a retry's payload in another key order (${dialect})`, () => {
    const suite = guestSuite(dialect)
    const { post, recorded } = suite

    it('is answered with the first response, at every depth, and runs once', async () => {
      const first = await post({
        action: 'content.create',
        data: { title: 'a', body: 'b', meta: { x: 1, y: [{ p: 1, q: 2 }] } },
        request_id: 'order-1',
      })
      assert.equal(first.statusCode, 200, first.body)
      const retry = await post({
        request_id: 'order-1',
        data: { meta: { y: [{ q: 2, p: 1 }], x: 1 }, body: 'b', title: 'a' },
        action: 'content.create',
      })
      assert.equal(retry.statusCode, 200, retry.body)
      assert.equal(retry.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(retry), json(first))
      assert.equal(await recorded('order-1'), 1)
    })

    it('still refuses another payload under the id: other values, or an array in another order', async () => {
      const first = await post({
        action: 'content.create',
        data: { list: [1, 2], n: 1 },
        request_id: 'order-2',
      })
      assert.equal(first.statusCode, 200, first.body)
      for (const data of [
        { n: 1, list: [2, 1] },
        { n: 2, list: [1, 2] },
        { n: 1, list: [1, 2], more: null },
      ]) {
        const other = await post({ action: 'content.create', data, request_id: 'order-2' })
        assert.equal(other.statusCode, 422, `${JSON.stringify(data)}: ${other.body}`)
        assert.equal(json(other).error.code, 'IDEMPOTENCY_KEY_REUSED')
      }
      assert.equal(await recorded('order-2'), 1)
    })

    it('replays a record kept before this release (fingerprint of the text as parsed) for the same body', async () => {
      // A record a node of the previous release stored while this one rolled out: its retry
      // within the day is the same request.
      const data = { title: 'a', body: 'b' }
      const legacy = createHash('sha256')
        .update(`content.create\u0000${JSON.stringify(data)}`)
        .digest('base64url')
      await suite.app.platform.database.db
        .insertInto('service_nexus_request')
        .values({
          campaign_slug: suite.slug,
          actor: `session:${suite.session.session_id}`,
          request_id: 'order-legacy',
          status: 'done',
          status_code: 200,
          response: JSON.stringify({ status: 'success', result: 'before', request_id: 'order-legacy' }),
          fingerprint: legacy,
          expires_at: new Date(Date.now() + 60_000),
        })
        .execute()
      const retry = await post({ action: 'content.create', data, request_id: 'order-legacy' })
      assert.equal(retry.statusCode, 200, retry.body)
      assert.equal(json(retry).result, 'before')
      const other = await post({ action: 'content.create', data: { title: 'z' }, request_id: 'order-legacy' })
      assert.equal(other.statusCode, 422, other.body)
    })
  })
}
