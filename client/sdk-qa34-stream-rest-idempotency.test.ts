// The stream lifecycle REST routes honour `Idempotency-Key` (qa33), but the SDK's `streams.rest`
// calls had no way to send one, so a page could not retry a create, start, pause, stop or key reset
// safely. `{ idempotencyKey }` is now sent as the header: a repeat with the same key is the stored
// answer (`idempotent-replayed: true`) and changes nothing, a repeated create or key reset rejects
// with 409 SECRET_NOT_REPLAYED naming the stream and makes none, the key used for another step is
// 422 IDEMPOTENCY_KEY_REUSED, and the SDK's own resend after 409 REQUEST_IN_PROGRESS keeps the key.
// Over a real port.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, type TestContext, userToken } from '../test/helper.js'
import { STREAM_URLS } from '../test/streamsource/helpers.js'
import { createClient, type FetchLike } from './index.js'
import { failure } from './test-helpers.js'

/** One request as sent and answered: its `Idempotency-Key` and the answer's `idempotent-replayed`. */
interface Sent {
  url: string
  key: string | null
  replayed: string | null
}

for (const dialect of DIALECTS) {
  describe(`client SDK: streams.rest with an idempotencyKey (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    before(async () => {
      ctx = await buildTestApp({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '5' } })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => ctx.close())

    /** A client for a new owner whose requests are recorded in `sent`. */
    async function owner(slug: string, answer?: (url: string, init: RequestInit) => Response | undefined) {
      const sent: Sent[] = []
      const recording: FetchLike = async (url, init = {}) => {
        const key = new Headers(init.headers).get('idempotency-key')
        const res = answer?.(url, init) ?? (await fetch(url, init))
        sent.push({ url, key, replayed: res.headers.get('idempotent-replayed') })
        return res
      }
      const token = await userToken(ctx.app, `user_owner_${slug}`)
      return { sent, client: createClient({ baseUrl, token, fetch: recording }) }
    }
    /** A new campaign, its owner's recording client, and a stream they made under key `create-<slug>`. */
    async function keyedStream() {
      const slug = await createCampaign(ctx.app)
      const { sent, client } = await owner(slug)
      const made = await client.streams.rest.create(
        slug,
        { title: 'Show' },
        { idempotencyKey: `create-${slug}` },
      )
      return { slug, sent, client, made }
    }
    const streamsOf = async (slug: string) =>
      (
        await ctx.app.platform.database.db
          .selectFrom('service_stream_main')
          .select(['id', 'status', 'updated_at'])
          .where('campaign_slug', '=', slug)
          .orderBy('id')
          .execute()
      ).map((r) => ({ ...r, id: Number(r.id) }))

    test('a repeated step with the same key is the replayed answer and changes nothing', async () => {
      const { slug, sent, client, made } = await keyedStream()
      const id = made.stream_id
      assert.equal(sent.at(-1)?.key, `create-${slug}`, 'the key is sent as Idempotency-Key')

      const reached = { start: 'live', pause: 'paused', stop: 'ended' } as const
      for (const step of ['start', 'pause', 'stop'] as const) {
        const first = await client.streams.rest[step](slug, id, { idempotencyKey: `${step}-${slug}` })
        assert.equal(first.status, reached[step])
        assert.equal(sent.at(-1)?.replayed, null, `${step}: the first call runs`)
        const stored = await streamsOf(slug)
        // Run again, a start of a live stream (or a pause of a paused one, a stop of an ended one)
        // would be 409 INVALID_STREAM_STATE.
        const again = await client.streams.rest[step](slug, id, { idempotencyKey: `${step}-${slug}` })
        assert.equal(sent.at(-1)?.key, `${step}-${slug}`)
        assert.equal(sent.at(-1)?.replayed, 'true', `${step}: the repeat is replayed`)
        assert.deepEqual(again, first, `${step}: the first answer`)
        assert.deepEqual(await streamsOf(slug), stored, `${step}: the repeat changed nothing`)
      }

      // Without a key each call runs: a second stop is refused.
      const unkeyed = await failure(client.streams.rest.stop(slug, id))
      assert.equal(sent.at(-1)?.key, null, 'no key without the option')
      assert.equal(unkeyed.code, 'INVALID_STREAM_STATE')
    })

    test('a repeated create or key reset is 409 SECRET_NOT_REPLAYED naming the stream, and makes none', async () => {
      const { slug, sent, client, made } = await keyedStream()
      assert.match(made.ingest_url!, /^rtmp:\/\/ingest\.test\/live\//)
      const before = await streamsOf(slug)
      assert.equal(before.length, 1)

      const again = await failure(
        client.streams.rest.create(slug, { title: 'Show' }, { idempotencyKey: `create-${slug}` }),
      )
      assert.equal(again.status, 409)
      assert.equal(again.code, 'SECRET_NOT_REPLAYED')
      assert.equal(sent.at(-1)?.replayed, 'true')
      assert.equal((again.details as { result: { stream_id: unknown } }).result.stream_id, made.stream_id)
      assert.deepEqual(await streamsOf(slug), before, 'no second stream')

      const reset = await client.streams.rest.resetKey(slug, made.stream_id, {
        idempotencyKey: `reset-${slug}`,
      })
      assert.match(reset.ingest_url!, /^rtmp:\/\/ingest\.test\/live\//)
      assert.notEqual(reset.ingest_url, made.ingest_url, 'a new key')
      const hash = () =>
        ctx.app.platform.database.db
          .selectFrom('service_stream_main')
          .select('ingest_key_hash')
          .where('id', '=', made.stream_id as never)
          .executeTakeFirstOrThrow()
      const keyAfterReset = await hash()
      const resetAgain = await failure(
        client.streams.rest.resetKey(slug, made.stream_id, { idempotencyKey: `reset-${slug}` }),
      )
      assert.equal(resetAgain.code, 'SECRET_NOT_REPLAYED')
      assert.deepEqual(await hash(), keyAfterReset, 'the repeat reset nothing')
    })

    test('the same key for another step is 422 IDEMPOTENCY_KEY_REUSED and runs nothing', async () => {
      const slug = await createCampaign(ctx.app)
      const { client } = await owner(slug)
      const id = (await client.streams.rest.create(slug)).stream_id
      await client.streams.rest.start(slug, id, { idempotencyKey: `key-${slug}` })
      const stored = await streamsOf(slug)
      const reused = await failure(client.streams.rest.pause(slug, id, { idempotencyKey: `key-${slug}` }))
      assert.equal(reused.status, 422)
      assert.equal(reused.code, 'IDEMPOTENCY_KEY_REUSED')
      assert.deepEqual(await streamsOf(slug), stored, 'still live')
    })

    test('the SDK’s own resend after REQUEST_IN_PROGRESS carries the same key', async () => {
      const slug = await createCampaign(ctx.app)
      let held = false
      // The first send is answered as the server answers a repeat whose first run goes on elsewhere.
      const { sent, client } = await owner(slug, (url) => {
        if (held || !url.endsWith('/start')) return undefined
        held = true
        return Response.json(
          { error: { code: 'REQUEST_IN_PROGRESS', message: 'its first run is still going on' } },
          { status: 409, headers: { 'retry-after': '0' } },
        )
      })
      const id = (await client.streams.rest.create(slug)).stream_id
      const started = await client.streams.rest.start(slug, id, { idempotencyKey: `start-${slug}` })
      assert.equal(started.status, 'live')
      const starts = sent.filter((s) => s.url.endsWith('/start'))
      assert.deepEqual(
        starts.map((s) => s.key),
        [`start-${slug}`, `start-${slug}`],
        'sent again under the same key',
      )
      const again = await client.streams.rest.start(slug, id, { idempotencyKey: `start-${slug}` })
      assert.equal(sent.at(-1)?.replayed, 'true', 'the resend was the run the key recorded')
      assert.deepEqual(again, started)
    })
  })
}
