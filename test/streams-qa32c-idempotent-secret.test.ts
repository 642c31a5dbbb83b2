// The answer of `stream.start` (a create) and `stream.reset_key` holds the ingest URL, whose path
// is the stream's publishing key; the idempotency record kept that answer for 24 h, so the key sat
// in the database although the stream keeps only its hash (qa32c). The record now keeps the answer
// without it, and a replay with the same Idempotency-Key runs nothing again and is 409
// SECRET_NOT_REPLAYED naming what the first run made.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { createCampaign, DIALECTS, userToken } from './helper.js'
import { ingestSuite, keyOf } from './streams-qa30b-ingest-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`stream keys are not kept in idempotency records (${dialect})`, () => {
    const suite = ingestSuite(dialect)
    let owner: string
    before(async () => {
      owner = await userToken(suite.ctx.app, 'user_idem_secret_owner')
    })

    const act = async (slug: string, key: string, action: string, data: unknown) => {
      const res = await fetch(`${suite.base}/api/${slug}/update`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${owner}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ action, data }),
      })
      return { status: res.status, body: (await res.json()) as any }
    }
    /** Every idempotency record of the campaign, as stored. */
    const records = (slug: string) =>
      suite.ctx.app.platform.database.db
        .selectFrom('service_nexus_request')
        .select(['request_id', 'status_code', 'response'])
        .where('campaign_slug', '=', slug)
        .orderBy('request_id')
        .execute()
    const streamsOf = async (slug: string) =>
      (
        await suite.ctx.app.platform.database.db
          .selectFrom('service_stream_main')
          .select('id')
          .where('campaign_slug', '=', slug)
          .orderBy('id')
          .execute()
      ).map((r) => Number(r.id))

    it('a create keeps no key in its record; its replay is 409 SECRET_NOT_REPLAYED naming the stream, and makes none', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const first = await act(slug, 'start-once-1', 'stream.start', { title: 'Secret' })
      assert.equal(first.status, 200, JSON.stringify(first.body))
      const { stream_id: id, ingest_url } = first.body.result
      const key = keyOf(ingest_url)
      assert.match(key, /^[\w-]{20,}$/)

      const stored = await records(slug)
      assert.deepEqual(
        stored.map((r) => r.request_id),
        ['start-once-1'],
      )
      assert.ok(!JSON.stringify(stored).includes(key), 'no record holds the publishing key')
      assert.ok(!JSON.stringify(stored).includes('ingest_url":'), 'nor the ingest URL')
      assert.equal((stored[0]!.response as any).result.stream_id, id)

      const again = await act(slug, 'start-once-1', 'stream.start', { title: 'Secret' })
      assert.equal(again.status, 409, JSON.stringify(again.body))
      assert.equal(again.body.error.code, 'SECRET_NOT_REPLAYED')
      assert.deepEqual(again.body.error.details.withheld, ['ingest_url'])
      assert.equal(again.body.error.details.result.stream_id, id)
      assert.equal(again.body.error.details.result.status, 'starting')
      assert.match(again.body.error.message, /reset/)
      assert.ok(!JSON.stringify(again.body).includes(key))
      assert.deepEqual(await streamsOf(slug), [id], 'the replay made no second stream')

      // An answer without a secret (going live) is replayed as it was.
      const live = await act(slug, 'go-live-1', 'stream.start', { stream_id: id })
      assert.equal(live.status, 200)
      const liveAgain = await act(slug, 'go-live-1', 'stream.start', { stream_id: id })
      assert.equal(liveAgain.status, 200)
      assert.deepEqual(liveAgain.body, live.body)
    })

    it('a key reset keeps no key in its record either, and its replay runs nothing again', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const made = await act(slug, 'start-2', 'stream.start', {})
      const id = made.body.result.stream_id
      const reset = await act(slug, 'reset-2', 'stream.reset_key', { stream_id: id })
      assert.equal(reset.status, 200, JSON.stringify(reset.body))
      const key = keyOf(reset.body.result.ingest_url)
      const stored = await records(slug)
      assert.deepEqual(
        stored.map((r) => r.request_id),
        ['reset-2', 'start-2'],
      )
      assert.ok(!JSON.stringify(stored).includes(key))
      const hashBefore = await suite.ctx.app.platform.database.db
        .selectFrom('service_stream_main')
        .select('ingest_key_hash')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()

      const again = await act(slug, 'reset-2', 'stream.reset_key', { stream_id: id })
      assert.equal(again.status, 409, JSON.stringify(again.body))
      assert.equal(again.body.error.code, 'SECRET_NOT_REPLAYED')
      assert.equal(again.body.error.details.result.stream_id, id)
      const hashAfter = await suite.ctx.app.platform.database.db
        .selectFrom('service_stream_main')
        .select('ingest_key_hash')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(hashAfter, hashBefore, 'the replay did not reset the key again')
    })
  })
}
