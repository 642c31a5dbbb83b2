// Campaign live streams (QA pass 29e): a lifecycle step was stored, then announced to the
// campaign's sockets inside the action; when the bus refused the frame (Redis unreachable) the
// stored step was answered 500 and its idempotency claim let go. The page's retry of the same
// request then created a second stream (the first one's ingest URL never reached anyone, and it
// held one of the owner's open slots), or answered a stop that had happened with 409. A step is
// now answered once stored, and announced after its commit, as every action's frames are.
// Since the thirty-second session the ingest URL (it holds the publishing key) is not kept in the
// idempotency record: the create's retry runs nothing again and is 409 SECRET_NOT_REPLAYED naming
// the stream made (a key reset then gives the page an ingest URL: streams-qa32c-idempotent-secret).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, json, REDIS_URL, userToken } from './helper.js'
import { redisProxy } from './redis-proxy.js'
import { STREAM_URLS } from './streamsource/helpers.js'

for (const dialect of DIALECTS) {
  describe(`campaign live stream steps while the bus is unreachable (${dialect})`, () => {
    it('answers a stored start and stop once, and their retries the same', {
      skip: !REDIS_URL && 'REDIS_URL is not set',
    }, async () => {
      const proxy = await redisProxy(REDIS_URL!)
      const t = await buildTestApp({ dialect, env: { ...STREAM_URLS, REDIS_URL: proxy.url } })
      try {
        const slug = await createCampaign(t.app)
        const owner = await userToken(t.app, `user_owner_${slug}`)
        const send = (action: string, data: unknown, request_id: string) =>
          t.app.inject({
            method: 'POST',
            url: `/api/${slug}/update`,
            headers: { authorization: `Bearer ${owner}` },
            payload: { action, data, request_id },
          })
        const rows = () =>
          t.app.platform.database.db
            .selectFrom('service_stream_main')
            .select(['id', 'live_status'])
            .where('campaign_slug', '=', slug)
            .execute()

        proxy.cut()
        const first = await send('stream.start', { title: 'Launch' }, 'start_1')
        assert.equal(first.statusCode, 200, first.body)
        const { stream_id: id, ingest_url } = json(first).result
        assert.match(ingest_url, /^rtmp:\/\/ingest\.test\/live\//)
        const retry = await send('stream.start', { title: 'Launch' }, 'start_1')
        assert.equal(retry.statusCode, 409, retry.body)
        assert.equal(json(retry).error.code, 'SECRET_NOT_REPLAYED')
        assert.equal(json(retry).error.details.result.stream_id, id)
        assert.deepEqual(
          (await rows()).map((r) => [Number(r.id), r.live_status]),
          [[id, 'starting']],
          'one stream, however often the page asked',
        )

        const live = await send('stream.start', { stream_id: id }, 'live_1')
        assert.equal(live.statusCode, 200, live.body)
        assert.equal(json(live).result.status, 'live')
        const stop = await send('stream.stop', { stream_id: id }, 'stop_1')
        assert.equal(stop.statusCode, 200, stop.body)
        const stopAgain = await send('stream.stop', { stream_id: id }, 'stop_1')
        assert.equal(stopAgain.statusCode, 200, stopAgain.body)
        assert.equal(json(stopAgain).result.status, 'ended')
        assert.deepEqual(
          (await rows()).map((r) => r.live_status),
          ['ended'],
        )
      } finally {
        await t.close()
      }
    })
  })
}
