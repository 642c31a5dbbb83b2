// `stream.start` / `stream.pause` / `stream.stop` had no REST route (ARCHITECTURE section 3: every
// action is also a route calling the same service): `POST /api/campaign/{slug}/streams` and
// `…/streams/{id}/start|pause|stop` run the same service with the actions' roles, feature,
// statuses, answers, errors and after-commit `stream_event`s.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createClient, OvasabiError } from '../client/index.js'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction, userToken } from './helper.js'
import { type TestClient, waitUntil } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { STREAM_URLS } from './streamsource/helpers.js'

const WAIT = 20_000

for (const dialect of DIALECTS) {
  describe(`campaign stream lifecycle over REST (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { ...STREAM_URLS, STREAM_OPEN_PER_USER: '2' } })
    const base = () => `http://127.0.0.1:${live.port}`

    const post = (path: string, token: string, body?: unknown) =>
      fetch(`${base()}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    const create = (slug: string, token: string, body?: unknown) =>
      post(`/api/campaign/${slug}/streams`, token, body)
    const stepOf = (slug: string, id: number, token: string, step: 'start' | 'pause' | 'stop') =>
      post(`/api/campaign/${slug}/streams/${id}/${step}`, token)
    const code = async (res: Response) => ((await res.json()) as any).error.code as string
    const statuses = (c: TestClient, id: number, mine?: true) =>
      c.frames
        .filter(
          (f) =>
            f.type === 'stream_event' &&
            f.kind === 'status' &&
            f.stream_id === id &&
            (mine ? f.mine === true : f.mine === undefined),
        )
        .map((f) => f.status as string)

    it('create → start → pause → stop by the owner: the actions’ answers, and the campaign’s stream_events', async () => {
      const slug = await createCampaign(live.app)
      const ownerId = `user_owner_${slug}`
      const owner = await userToken(live.app, ownerId)
      const ownerTab = await live.open(`/ws/${slug}/${ownerId}?token=${owner}`)
      const visitor = await live.openGuest(slug)

      const created = await create(slug, owner, { title: 'Launch' })
      assert.equal(created.status, 201)
      assert.equal(created.headers.get('cache-control'), 'no-store')
      const body = (await created.json()) as Record<string, unknown>
      assert.deepEqual(Object.keys(body).sort(), ['ingest_url', 'playback_url', 'status', 'stream_id'])
      assert.equal(body.status, 'starting')
      const id = body.stream_id as number
      assert.equal(body.playback_url, `https://cdn.test/${slug}/${id}.m3u8`)
      const key = (body.ingest_url as string).slice('rtmp://ingest.test/live/'.length)
      assert.ok(key.length >= 20, body.ingest_url as string)

      for (const [step, status] of [
        ['start', 'live'],
        ['pause', 'paused'],
        ['stop', 'ended'],
      ] as const) {
        const res = await stepOf(slug, id, owner, step)
        assert.equal(res.status, 200, step)
        assert.deepEqual(await res.json(), {
          stream_id: id,
          status,
          playback_url: `https://cdn.test/${slug}/${id}.m3u8`,
        })
      }

      const all = ['starting', 'live', 'paused', 'ended']
      await waitUntil(() => statuses(visitor, id).length >= 4, WAIT, 'the visitor told of every step')
      assert.deepEqual(statuses(visitor, id), all)
      const first = visitor.frames.find((f) => f.type === 'stream_event' && f.stream_id === id)
      assert.equal(first.title, 'Launch')
      assert.equal(JSON.stringify(visitor.frames).includes(ownerId), false, 'visitors never learn the owner')
      await waitUntil(() => statuses(ownerTab, id, true).length >= 4, WAIT, 'the owner told it is theirs')
      assert.deepEqual(statuses(ownerTab, id, true), all)

      // The publishing key is in the create's answer only: the row keeps its hash.
      const row = await live.app.platform.database.db
        .selectFrom('service_stream_main')
        .selectAll()
        .where('id', '=', id as never)
        .executeTakeFirstOrThrow()
      assert.equal(JSON.stringify(row).includes(key), false)
    })

    it('a create without a body is a stream with the default title', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const res = await create(slug, owner)
      assert.equal(res.status, 201)
      const read = await fetch(`${base()}/api/campaign/${slug}/streams/live`, {
        headers: { authorization: `Bearer ${owner}` },
      })
      assert.deepEqual(
        ((await read.json()) as any).streams.map((s: { title: string }) => s.title),
        ['Live stream'],
      )
      const bad = await create(slug, owner, { title: 'x', stream_id: 1 })
      assert.equal(bad.status, 400)
    })

    it('another participant and a guest are refused 403 FORBIDDEN; the stream is unchanged', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const other = await userToken(live.app, `user_other_${slug}`)
      const guest = await live.guestToken()
      const created = await create(slug, owner, { title: 'Mine' })
      const id = ((await created.json()) as any).stream_id as number

      for (const step of ['start', 'pause', 'stop'] as const) {
        for (const token of [other, guest]) {
          const res = await stepOf(slug, id, token, step)
          assert.equal(res.status, 403, step)
          assert.equal(await code(res), 'FORBIDDEN', step)
        }
      }
      const byGuest = await create(slug, guest, { title: 'Guest' })
      assert.equal(byGuest.status, 403)
      assert.equal(await code(byGuest), 'FORBIDDEN')

      const read = await fetch(`${base()}/api/campaign/${slug}/streams/live`, {
        headers: { authorization: `Bearer ${owner}` },
      })
      assert.deepEqual(
        ((await read.json()) as any).streams.map((s: { stream_id: number; status: string }) => [
          s.stream_id,
          s.status,
        ]),
        [[id, 'starting']],
      )
    })

    it('once the campaign ended: stop works, start and create are 409 CAMPAIGN_NOT_ACTIVE', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const a = ((await (await create(slug, owner, { title: 'A' })).json()) as any).stream_id as number
      const b = ((await (await create(slug, owner, { title: 'B' })).json()) as any).stream_id as number
      assert.equal((await stepOf(slug, b, owner, 'start')).status, 200)
      const ended = await live.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ metadata: { scheduling: { end: '2000-01-01T00:00:00Z' } } }),
      })
      assert.equal(ended.statusCode, 200, ended.body)

      for (const res of [
        await stepOf(slug, a, owner, 'start'),
        await stepOf(slug, b, owner, 'pause'),
        await create(slug, owner, { title: 'C' }),
      ]) {
        assert.equal(res.status, 409)
        const error = ((await res.json()) as any).error
        assert.deepEqual([error.code, error.details], ['CAMPAIGN_NOT_ACTIVE', { status: 'ended' }])
      }
      for (const id of [a, b]) {
        const res = await stepOf(slug, id, owner, 'stop')
        assert.equal(res.status, 200)
        assert.equal(((await res.json()) as any).status, 'ended')
      }
    })

    it('start or stop of an ended stream is 409 INVALID_STREAM_STATE, as the action answers', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = ((await (await create(slug, owner, { title: 'Once' })).json()) as any).stream_id as number
      assert.equal((await stepOf(slug, id, owner, 'stop')).status, 200)

      const action = await sendAction(live.app, slug, owner, 'stream.start', { stream_id: id })
      assert.equal(action.statusCode, 409)
      for (const step of ['start', 'pause', 'stop'] as const) {
        const res = await stepOf(slug, id, owner, step)
        assert.equal(res.status, 409, step)
        const error = ((await res.json()) as any).error
        assert.equal(error.code, 'INVALID_STREAM_STATE', step)
      }
      const start = await stepOf(slug, id, owner, 'start')
      assert.deepEqual(((await start.json()) as any).error.code, json(action).error.code)
      const elsewhere = await createCampaign(live.app)
      const missing = await stepOf(elsewhere, id, owner, 'stop')
      assert.equal(missing.status, 404)
      assert.equal(await code(missing), 'STREAM_NOT_FOUND')
    })

    it('at the per-user limit a create is 409 STREAM_LIMIT_REACHED; a stop frees a slot', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const first = ((await (await create(slug, owner)).json()) as any).stream_id as number
      assert.equal((await create(slug, owner)).status, 201)
      const over = await create(slug, owner)
      assert.equal(over.status, 409)
      assert.equal(await code(over), 'STREAM_LIMIT_REACHED')
      assert.equal((await stepOf(slug, first, owner, 'stop')).status, 200)
      assert.equal((await create(slug, owner)).status, 201)
    })

    it('the SDK’s streams.rest calls run the routes', async () => {
      const slug = await createCampaign(live.app)
      const owner = createClient({ baseUrl: base(), token: await userToken(live.app, `user_owner_${slug}`) })
      const made = await owner.streams.rest.create(slug, { title: 'SDK' })
      assert.equal(made.status, 'starting')
      assert.match(made.ingest_url!, /^rtmp:\/\/ingest\.test\/live\//)
      const id = made.stream_id
      assert.equal((await owner.streams.rest.start(slug, id)).status, 'live')
      assert.equal((await owner.streams.rest.pause(slug, id)).status, 'paused')
      assert.equal((await owner.streams.rest.stop(slug, id)).status, 'ended')
      const again = await owner.streams.rest.start(slug, id).catch((err: unknown) => err)
      assert.ok(again instanceof OvasabiError)
      assert.equal(again.code, 'INVALID_STREAM_STATE')
    })

    it('without the streaming feature every route is 403 FEATURE_DISABLED', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = ((await (await create(slug, owner)).json()) as any).stream_id as number
      const off = await createCampaign(live.app, { features: FEATURES.filter((f) => f !== 'streaming') })
      const created = await create(off, owner, { title: 'Off' })
      assert.equal(created.status, 403)
      assert.equal(await code(created), 'FEATURE_DISABLED')
      for (const step of ['start', 'pause', 'stop'] as const) {
        const res = await stepOf(off, id, owner, step)
        assert.equal(res.status, 403, step)
        assert.equal(await code(res), 'FEATURE_DISABLED', step)
      }
    })
  })
}
