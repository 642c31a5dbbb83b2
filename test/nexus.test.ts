import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { forgetResponses, forgetResponsesQuery } from '../src/nexus/idempotency.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  captureFrames,
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'

for (const dialect of DIALECTS) {
  describe(`POST /api/{campaign}/update (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }
    let session: { token: string; session_id: string }

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      session = await guestToken(t.app)
      auth = { authorization: `Bearer ${session.token}` }
    })
    after(() => t.close())

    const post = (payload: object, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `/api/${slug}/update`, headers: { ...auth, ...headers }, payload })

    const events = (requestId?: string) => {
      let q = t.app.platform.database.db
        .selectFrom('service_analytics_event')
        .selectAll()
        .where('campaign_slug', '=', slug)
      if (requestId) q = q.where('event_id', '=', requestId)
      return q.execute()
    }

    /** A successful answer to `requestId` from this session, stored without a fingerprint, kept until `expiresAt`. */
    async function storedAnswer(requestId: string, result: string, expiresAt: number) {
      await t.app.platform.database.db
        .insertInto('service_nexus_request')
        .values({
          campaign_slug: slug,
          actor: `session:${session.session_id}`,
          request_id: requestId,
          status: 'done',
          status_code: 200,
          response: JSON.stringify({ status: 'success', result, request_id: requestId }),
          expires_at: new Date(expiresAt),
        })
        .execute()
    }
    it('records a seed-form action as a filled envelope', async () => {
      const res = await post({
        action: 'content.create',
        data: { title: 'hello' },
        metadata: { source: 'test' },
        request_id: 'seed-1',
      })
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.equal(body.status, 'success')
      assert.equal(body.request_id, 'seed-1')
      assert.deepEqual(body.result, { recorded: true, event: 'content.create', event_id: 'seed-1' })
      const [row] = await events('seed-1')
      assert.ok(row)
      assert.equal(row.event, 'content.create')
      assert.equal(row.user_id, 'guest')
      assert.equal(row.session_id, session.session_id)
      assert.deepEqual(row.payload, { title: 'hello' })
      const metadata = row.metadata as any
      assert.equal(metadata.source, 'test')
      assert.equal(metadata.versioning.system_version, t.config.VERSION)
      assert.equal(metadata.versioning.environment, t.config.ENVIRONMENT)
      assert.ok(row.received_at instanceof Date)
    })

    it('accepts the full envelope and keeps the client timestamp apart from received_at', async () => {
      const timestamp = '2025-06-04T12:00:00.000Z'
      const res = await post({
        type: 'campaign_event',
        campaign_id: slug,
        user: { user_id: 'guest', session_id: session.session_id, roles: ['participant'] },
        event: 'media.play',
        payload: { media_id: 'm1' },
        metadata: {},
        timestamp,
        request_id: 'env-1',
      })
      assert.equal(res.statusCode, 200, res.body)
      const [row] = await events('env-1')
      assert.equal(row!.timestamp.toISOString(), timestamp)
      assert.notEqual(row!.received_at.toISOString(), timestamp)
    })

    it('generates a request id when none is given', async () => {
      const res = await post({ action: 'content.view' })
      const id = json(res).request_id
      assert.match(id, /^[0-9A-Z]{26}$/)
      assert.equal(res.headers['x-request-id'], id)
      assert.equal((await events(id)).length, 1)
    })

    it('returns the first response for a repeated request_id and records once', async () => {
      const first = await post({ action: 'content.create', data: { n: 1 }, request_id: 'dup-1' })
      const second = await post({ action: 'content.create', data: { n: 1 }, request_id: 'dup-1' })
      assert.equal(second.statusCode, 200)
      assert.equal(second.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(second), json(first))
      assert.equal((await events('dup-1')).length, 1)
    })

    it('refuses a request_id reused for another payload or action with 422, recording nothing', async () => {
      const first = await post({ action: 'content.create', data: { n: 1 }, request_id: 'reuse-1' })
      assert.equal(first.statusCode, 200, first.body)
      for (const other of [
        { action: 'content.create', data: { n: 2 } },
        { action: 'content.update', data: { n: 1 } },
        { type: 'campaign_event', event: 'content.create', payload: { n: 1, extra: true } },
      ]) {
        const res = await post({ ...other, request_id: 'reuse-1' })
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(json(res).error.code, 'IDEMPOTENCY_KEY_REUSED')
        assert.equal(res.headers['idempotent-replayed'], undefined)
      }
      assert.equal((await events('reuse-1')).length, 1)
      // The same request in envelope form is the same request: replayed.
      const retry = await post({
        type: 'campaign_event',
        event: 'content.create',
        payload: { n: 1 },
        request_id: 'reuse-1',
      })
      assert.equal(retry.statusCode, 200, retry.body)
      assert.equal(retry.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(retry), json(first))
    })

    it('refuses a reused request_id on an action that claims its id first (registration)', async () => {
      const join = (email: string) =>
        post({ action: 'user.register', data: { email, name: 'Reuse' }, request_id: 'reuse-join' })
      const first = await join('reuse.first@example.com')
      assert.equal(first.statusCode, 200, first.body)
      const other = await join('reuse.second@example.com')
      assert.equal(other.statusCode, 422, other.body)
      assert.equal(json(other).error.code, 'IDEMPOTENCY_KEY_REUSED')
      const users = await t.app.platform.database.db
        .selectFrom('service_user_master')
        .select('email')
        .where('email', '=', 'reuse.second@example.com')
        .execute()
      assert.equal(users.length, 0, 'the second registration did not run')
      const retry = await join('reuse.first@example.com')
      assert.equal(retry.headers['idempotent-replayed'], 'true')
    })

    it('answers concurrent requests sharing one id with different payloads: one runs, the rest are refused', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          post({ action: 'content.create', data: { n: i % 2 }, request_id: 'reuse-race' }),
        ),
      )
      const ok = results.filter((r) => r.statusCode === 200)
      const refused = results.filter((r) => r.statusCode === 422)
      assert.equal(ok.length + refused.length, 6, results.map((r) => r.body).join('\n'))
      assert.ok(refused.length >= 3, 'at least the copies with the other payload are refused')
      for (const r of refused) assert.equal(json(r).error.code, 'IDEMPOTENCY_KEY_REUSED')
      for (const r of ok) assert.deepEqual(json(r), json(ok[0]!))
      assert.equal((await events('reuse-race')).length, 1)
    })

    it('replays a record written before fingerprints were kept, whatever the payload', async () => {
      await storedAnswer('legacy-1', 'before', Date.now() + 60_000)
      const res = await post({ action: 'content.create', data: { any: 1 }, request_id: 'legacy-1' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['idempotent-replayed'], 'true')
      assert.equal(json(res).result, 'before')
    })

    it('answers a retry whose stored answer an erasure forgot with 410 ERASED, and records nothing', async () => {
      // What a node still trusting the token (up to 10 s after an erasure elsewhere) answers.
      await post({ action: 'content.create', data: { n: 1 }, request_id: 'forgotten-1' })
      await forgetResponses(t.app.platform.database.db, [`session:${session.session_id}`])
      const retry = await post({ action: 'content.create', data: { n: 1 }, request_id: 'forgotten-1' })
      assert.equal(retry.statusCode, 410, retry.body)
      assert.equal(json(retry).error.code, 'ERASED')
      assert.equal((await events('forgotten-1')).length, 1)
    })

    it("finds an erased person's stored answers through the key, not by scanning every request", {
      skip: dialect !== 'postgres' && "plans are PostgreSQL's",
    }, async () => {
      const db = t.app.platform.database.db
      const plan = await db.transaction().execute(async (trx) => {
        // Forbid a scan where another path exists: an index path must exist for every table size.
        await sql`set local enable_seqscan = off`.execute(trx)
        const q = forgetResponsesQuery(
          trx,
          [`session:${session.session_id}`, 'user:x'],
          [slug, 'other'],
        ).compile()
        const rows = await trx.executeQuery<{ 'QUERY PLAN': string }>({
          ...q,
          sql: `explain ${q.sql}`,
        })
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n')
      })
      assert.match(plan, /Index Scan using service_nexus_request_pk/, plan)
      assert.doesNotMatch(plan, /Seq Scan/, plan)
    })

    it('treats the Idempotency-Key header as the request id', async () => {
      await post({ action: 'content.create' }, { 'idempotency-key': 'hdr-1' })
      const again = await post({ action: 'content.create' }, { 'idempotency-key': 'hdr-1' })
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.equal((await events('hdr-1')).length, 1)
    })

    it('records a request whose id has an expired record not purged yet, and does not replay it', async () => {
      // The 24 h window is over but the purge (every 10 min) has not run: the id is new again.
      await storedAnswer('expired-1', 'yesterday', Date.now() - 1000)
      const res = await post({ action: 'content.create', request_id: 'expired-1' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['idempotent-replayed'], undefined)
      assert.equal(json(res).result.event_id, 'expired-1')
      assert.equal((await events('expired-1')).length, 1, 'the acknowledged action was recorded')
      const again = await post({ action: 'content.create', request_id: 'expired-1' })
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(again), json(res))
      assert.equal((await events('expired-1')).length, 1)
    })

    it('replays the first answer to a retry that running again would refuse (quote rate limit)', async () => {
      const limited = await createCampaign(t.app, {
        metadata: { custom_rules: { quote_rate_limit: { max: 1, window_seconds: 3600 } } },
      })
      const send = (requestId: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/${limited}/update`,
          headers: { ...auth, 'x-forwarded-for': '203.0.113.91' },
          payload: {
            action: 'submit_quote',
            request_id: requestId,
            data: { name: 'Ada', email: 'ada.retry@example.com' },
          },
        })
      const first = await send('lead-1')
      assert.equal(first.statusCode, 200, first.body)
      const retry = await send('lead-1')
      assert.equal(retry.statusCode, 200, retry.body)
      assert.equal(retry.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(retry), json(first))
      // A new request from that address is still held to the limit.
      const other = await send('lead-2')
      assert.equal(other.statusCode, 429, other.body)
      assert.equal(json(other).error.code, 'RATE_LIMITED')
    })

    it('accepts a leap second and refuses a timestamp PostgreSQL cannot store, recording nothing', async () => {
      const leap = await post({
        type: 'campaign_event',
        event: 'content.create',
        timestamp: '2016-12-31T23:59:60Z',
        request_id: 'ts-leap',
      })
      assert.equal(leap.statusCode, 200, leap.body)
      for (const [id, timestamp] of [
        ['ts-year0', '0000-01-01T00:00:00Z'],
        ['ts-suffix', '2025-06-04T12:00:00Z[Europe/Paris]'],
      ] as const) {
        const res = await post({ type: 'campaign_event', event: 'content.create', timestamp, request_id: id })
        assert.equal(res.statusCode, 400, `${timestamp}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.equal(json(res).error.details[0].path, '/timestamp')
        assert.equal((await events(id)).length, 0)
      }
    })

    it('runs concurrent copies of one request once', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => post({ action: 'content.create', request_id: 'race-1' })),
      )
      for (const r of results) assert.equal(r.statusCode, 200)
      for (const r of results) assert.deepEqual(json(r), json(results[0]!))
      assert.equal((await events('race-1')).length, 1)
    })

    it('scopes request ids per caller: another session with the same id is a new request', async () => {
      const other = await guestToken(t.app)
      await post({ action: 'content.create', request_id: 'shared-1' })
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${other.token}` },
        payload: { action: 'content.create', request_id: 'shared-1' },
      })
      assert.equal(res.headers['idempotent-replayed'], undefined)
      assert.equal((await events('shared-1')).length, 2)
    })

    it('commits every concurrent distinct action (group commit) and counts them', async () => {
      const fresh = await createCampaign(t.app)
      const n = 60
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          t.app.inject({
            method: 'POST',
            url: `/api/${fresh}/update`,
            headers: auth,
            payload: { action: i % 2 ? 'content.create' : 'media.play', request_id: `bulk-${i}` },
          }),
        ),
      )
      assert.ok(results.every((r) => r.statusCode === 200))
      const stats = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${fresh}/stats`, headers: adminHeaders }),
      )
      assert.equal(stats.events_total, n)
      assert.deepEqual(stats.events, { 'content.create': n / 2, 'media.play': n / 2 })
      assert.equal(stats.sessions, 1)
    })

    it('reads a counter as the sum of the shards concurrent batches wrote', async () => {
      const fresh = await createCampaign(t.app)
      await t.app.platform.database.db
        .insertInto('service_campaign_counter')
        .values([
          { campaign_slug: fresh, name: 'events_total', shard: 0, count: 5 },
          { campaign_slug: fresh, name: 'events_total', shard: 3, count: 7 },
          { campaign_slug: fresh, name: 'event:media.play', shard: 1, count: 2 },
          { campaign_slug: fresh, name: 'event:media.play', shard: 4, count: 10 },
        ])
        .execute()
      const stats = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${fresh}/stats`, headers: adminHeaders }),
      )
      assert.equal(stats.events_total, 12)
      assert.deepEqual(stats.events, { 'media.play': 12 })
    })

    it("sends an update_ack to the caller's sockets", async () => {
      const acks: RealtimeMessage[] = []
      const off = await captureFrames(t.app, (m) => acks.push(m as RealtimeMessage))
      await post({ action: 'content.create', request_id: 'ack-1' })
      for (let i = 0; i < 100 && !acks.some((a) => a.frame.request_id === 'ack-1'); i++)
        await new Promise((r) => setTimeout(r, 20))
      await off()
      const ack = acks.find((a) => a.frame.request_id === 'ack-1')
      assert.ok(ack, 'ack published')
      assert.equal(ack.frame.type, 'update_ack')
      assert.equal(ack.frame.status, 'success')
      assert.deepEqual(ack.audience, { scope: 'session', campaign: slug, session_id: session.session_id })
    })

    it('counts actions in /metrics', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' })
      assert.match(res.body, /ovasabi_actions_total\{action="analytics.track",outcome="ok"\} \d+/)
      assert.match(
        res.body,
        /ovasabi_http_request_duration_seconds_bucket\{.*route="\/api\/:campaign\/update"/,
      )
    })
  })
}

if (DIALECTS.includes('postgres')) {
  describe('idempotency across two server processes sharing PostgreSQL', () => {
    let a: TestContext
    let b: TestContext
    before(async () => {
      a = await buildTestApp({ dialect: 'postgres' })
      b = await buildTestApp({ dialect: 'postgres', databaseUrl: a.databaseUrl })
    })
    after(async () => {
      await b.close()
      await a.close()
    })

    it('records a request sent to both at the same moment once, and both answer the same', async () => {
      const slug = await createCampaign(a.app)
      const { token } = await guestToken(a.app)
      const headers = { authorization: `Bearer ${token}` }
      const send = (ctx: TestContext, id: string) =>
        ctx.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers,
          payload: { action: 'content.create', request_id: id },
        })
      for (let i = 0; i < 10; i++) {
        const [ra, rb] = await Promise.all([send(a, `two-${i}`), send(b, `two-${i}`)])
        assert.equal(ra.statusCode, 200, ra.body)
        assert.equal(rb.statusCode, 200, rb.body)
        assert.deepEqual(json(ra), json(rb))
        const rows = await a.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('id')
          .where('event_id', '=', `two-${i}`)
          .execute()
        assert.equal(rows.length, 1)
      }
    })
  })
}
