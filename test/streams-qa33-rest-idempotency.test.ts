// The stream lifecycle REST routes (`POST /api/campaign/{slug}/streams` and
// `…/streams/{id}/start|pause|stop|reset-key`) called the service directly, so they had none of the
// action endpoint's idempotency (qa33): a retried start or stop with the same Idempotency-Key ran
// again (409 INVALID_STREAM_STATE instead of the first answer), and a retried create made a second
// stream. They now run their actions through the dispatcher, as `POST /api/quote` runs
// `quote.submit`: a retry is the stored answer with `idempotent-replayed: true`, a create's is 409
// SECRET_NOT_REPLAYED naming the stream, a key reused for another step is 422
// IDEMPOTENCY_KEY_REUSED, and a request without a key runs each time.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, userToken } from './helper.js'
import { type TestClient, waitUntil } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const WAIT = 20_000

for (const dialect of DIALECTS) {
  describe(`stream lifecycle REST routes honour Idempotency-Key (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '5' } })

    const post = async (
      path: string,
      token: string,
      headers: Record<string, string> = {},
      body?: unknown,
    ) => {
      const res = await fetch(`http://127.0.0.1:${live.port}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return {
        status: res.status,
        replayed: res.headers.get('idempotent-replayed'),
        body: (await res.json()) as any,
      }
    }
    const keyed = (key?: string): Record<string, string> => (key ? { 'idempotency-key': key } : {})
    const create = (slug: string, token: string, key?: string, body: unknown = { title: 'Show' }) =>
      post(`/api/campaign/${slug}/streams`, token, keyed(key), body)
    const step = (
      slug: string,
      id: number,
      token: string,
      name: string,
      headers: Record<string, string> = {},
    ) => post(`/api/campaign/${slug}/streams/${id}/${name}`, token, headers)

    const db = () => live.app.platform.database.db
    /** The stream's row as stored: a step that ran again would change it. */
    const row = (id: number) =>
      db()
        .selectFrom('service_stream_main')
        .select(['status', 'live_status', 'updated_at'])
        .where('id', '=', id as never)
        .executeTakeFirstOrThrow()
    const streamsOf = async (slug: string) =>
      (
        await db()
          .selectFrom('service_stream_main')
          .select('id')
          .where('campaign_slug', '=', slug)
          .orderBy('id')
          .execute()
      ).map((r) => Number(r.id))
    /** The campaign's analytics events of `event`: one per step that ran. */
    const eventsOf = async (slug: string, event: string) =>
      (
        await db()
          .selectFrom('service_analytics_event')
          .select('event_id')
          .where('campaign_slug', '=', slug)
          .where('event', '=', event)
          .orderBy('id')
          .execute()
      ).map((r) => r.event_id)
    const statuses = (c: TestClient, id: number) =>
      c.frames
        .filter((f) => f.type === 'stream_event' && f.kind === 'status' && f.stream_id === id)
        .map((f) => f.status as string)
    /**
     * Every `stream_event` of stream `id` that `c` will get: those of a later stream's create
     * arrive after them (one bus, in order), so none still on its way is missed.
     */
    const settledStatuses = async (slug: string, owner: string, c: TestClient, id: number) => {
      const marker = (await create(slug, owner, undefined, { title: 'Marker' })).body.stream_id as number
      await waitUntil(() => statuses(c, marker).length >= 1, WAIT, 'the marker stream announced')
      return statuses(c, id)
    }

    it('a retried start and stop with the same key are replayed: one stream_event and one change each', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const visitor = await live.openGuest(slug)
      const id = (await create(slug, owner)).body.stream_id as number

      const started = await step(slug, id, owner, 'start', keyed(`start-${slug}`))
      assert.equal(started.status, 200, JSON.stringify(started.body))
      assert.equal(started.replayed, null)
      assert.deepEqual(started.body, {
        stream_id: id,
        status: 'live',
        playback_url: started.body.playback_url,
      })
      const afterStart = await row(id)
      const retried = await step(slug, id, owner, 'start', keyed(`start-${slug}`))
      // Run again, a start of a live stream is 409 INVALID_STREAM_STATE.
      assert.equal(retried.status, 200, JSON.stringify(retried.body))
      assert.equal(retried.replayed, 'true')
      assert.deepEqual(retried.body, started.body)
      assert.deepEqual(await row(id), afterStart, 'the replay changed nothing')

      const stopped = await step(slug, id, owner, 'stop', keyed(`stop-${slug}`))
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body))
      assert.equal(stopped.body.status, 'ended')
      const afterStop = await row(id)
      const stopAgain = await step(slug, id, owner, 'stop', keyed(`stop-${slug}`))
      assert.equal(stopAgain.status, 200, JSON.stringify(stopAgain.body))
      assert.equal(stopAgain.replayed, 'true')
      assert.deepEqual(stopAgain.body, stopped.body)
      assert.deepEqual(await row(id), afterStop)

      assert.deepEqual(await settledStatuses(slug, owner, visitor, id), ['starting', 'live', 'ended'])
      assert.deepEqual(await eventsOf(slug, 'stream.stop'), [`stop-${slug}`], 'one stop ran')
      assert.equal((await eventsOf(slug, 'stream.start')).filter((e) => e === `start-${slug}`).length, 1)
    })

    it('X-Request-Id keys a step as Idempotency-Key does, as on POST /api/quote', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = (await create(slug, owner)).body.stream_id as number
      const headers = { 'x-request-id': `xrid-start-${slug}` }
      const first = await step(slug, id, owner, 'start', headers)
      assert.equal(first.status, 200, JSON.stringify(first.body))
      const again = await step(slug, id, owner, 'start', headers)
      assert.equal(again.status, 200, JSON.stringify(again.body))
      assert.equal(again.replayed, 'true')
      assert.deepEqual(again.body, first.body)
    })

    it('a retried create is 409 SECRET_NOT_REPLAYED naming the stream, and makes no second one', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const made = await create(slug, owner, `create-${slug}`)
      assert.equal(made.status, 201, JSON.stringify(made.body))
      assert.equal(made.replayed, null)
      const id = made.body.stream_id as number
      assert.match(made.body.ingest_url, /^rtmp:\/\/ingest\.test\/live\/[\w-]{20,}$/)

      const again = await create(slug, owner, `create-${slug}`)
      assert.equal(again.status, 409, JSON.stringify(again.body))
      assert.equal(again.replayed, 'true')
      assert.equal(again.body.error.code, 'SECRET_NOT_REPLAYED')
      assert.deepEqual(again.body.error.details.withheld, ['ingest_url'])
      assert.equal(again.body.error.details.result.stream_id, id)
      assert.equal(again.body.error.details.result.status, 'starting')
      assert.ok(!JSON.stringify(again.body).includes(made.body.ingest_url), 'the key is not replayed')
      assert.deepEqual(await streamsOf(slug), [id], 'one stream')

      // A key reset's answer holds the ingest URL too: its retry resets nothing again.
      const reset = await step(slug, id, owner, 'reset-key', keyed(`reset-${slug}`))
      assert.equal(reset.status, 200, JSON.stringify(reset.body))
      const hash = await db()
        .selectFrom('service_stream_main')
        .select('ingest_key_hash')
        .where('id', '=', id as never)
        .executeTakeFirstOrThrow()
      const resetAgain = await step(slug, id, owner, 'reset-key', keyed(`reset-${slug}`))
      assert.equal(resetAgain.status, 409, JSON.stringify(resetAgain.body))
      assert.equal(resetAgain.body.error.code, 'SECRET_NOT_REPLAYED')
      assert.equal(resetAgain.body.error.details.result.stream_id, id)
      assert.deepEqual(
        await db()
          .selectFrom('service_stream_main')
          .select('ingest_key_hash')
          .where('id', '=', id as never)
          .executeTakeFirstOrThrow(),
        hash,
      )
    })

    it('a key reused for another stream, step or body is 422 IDEMPOTENCY_KEY_REUSED and runs nothing', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const a = (await create(slug, owner)).body.stream_id as number
      const b = (await create(slug, owner)).body.stream_id as number
      const key = `reused-${slug}`
      assert.equal((await step(slug, a, owner, 'start', keyed(key))).status, 200)
      const bBefore = await row(b)
      const aBefore = await row(a)

      for (const [what, res] of [
        ['another stream', await step(slug, b, owner, 'start', keyed(key))],
        ['another step', await step(slug, a, owner, 'pause', keyed(key))],
        ['the stop', await step(slug, a, owner, 'stop', keyed(key))],
        ['a create', await create(slug, owner, key)],
      ] as const) {
        assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`)
        assert.equal(res.body.error.code, 'IDEMPOTENCY_KEY_REUSED', what)
      }
      assert.deepEqual(await row(b), bBefore, 'the other stream is unchanged')
      assert.deepEqual(await row(a), aBefore, 'the stream is still live, unchanged')
      assert.deepEqual(await streamsOf(slug), [a, b], 'no stream made')

      // A create's key names its body too: another title under it is another request.
      const created = await create(slug, owner, `made-${slug}`, { title: 'One' })
      assert.equal(created.status, 201)
      const other = await create(slug, owner, `made-${slug}`, { title: 'Two' })
      assert.equal(other.status, 422, JSON.stringify(other.body))
      assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED')
    })

    it('without a key each call runs: two creates make two streams, a second start is refused', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const first = await create(slug, owner)
      const second = await create(slug, owner)
      assert.deepEqual([first.status, second.status], [201, 201])
      assert.notEqual(first.body.stream_id, second.body.stream_id)
      assert.deepEqual(await streamsOf(slug), [first.body.stream_id, second.body.stream_id])

      const id = first.body.stream_id as number
      const started = await step(slug, id, owner, 'start')
      assert.equal(started.status, 200)
      const again = await step(slug, id, owner, 'start')
      assert.equal(again.status, 409, JSON.stringify(again.body))
      assert.equal(again.replayed, null)
      assert.equal(again.body.error.code, 'INVALID_STREAM_STATE')
      const records = await db()
        .selectFrom('service_nexus_request')
        .select('request_id')
        .where('campaign_slug', '=', slug)
        .orderBy('request_id')
        .execute()
      assert.deepEqual(records, [], 'no idempotency record without a key')
    })

    it('a refusal is recorded as the action endpoint records it: its retry is the same refusal, replayed', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = (await create(slug, owner)).body.stream_id as number
      const pause = await step(slug, id, owner, 'pause', keyed(`pause-${slug}`))
      assert.equal(pause.status, 409)
      assert.equal(pause.body.error.code, 'INVALID_STREAM_STATE')
      assert.equal(pause.body.request_id, `pause-${slug}`)
      const again = await step(slug, id, owner, 'pause', keyed(`pause-${slug}`))
      assert.equal(again.status, 409)
      assert.equal(again.replayed, 'true')
      assert.deepEqual(again.body, pause.body)
    })
  })
}
