// Input the action endpoint took and then could not keep: a client `timestamp` whose UTC offset
// PostgreSQL refuses (past ±15:59) failed at the commit as a 500, after a join had already made
// its member, leaving the request id held; an `Idempotency-Key` too long (or empty) to be kept was
// silently dropped, so the request ran with no record and the client's retry ran it again.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

for (const dialect of DIALECTS) {
  describe(`action input the commit could not keep (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }
    let token: string

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      token = (await guestToken(t.app)).token
      auth = { authorization: `Bearer ${token}` }
    })
    after(() => t.close())

    const post = (payload: object, headers: Record<string, string> = {}, url = `/api/${slug}/update`) =>
      t.app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload })

    const db = () => t.app.platform.database.db
    const events = (requestId: string) =>
      db()
        .selectFrom('service_analytics_event')
        .select('event_id')
        .where('event_id', '=', requestId)
        .execute()
    const records = (requestId: string) =>
      db().selectFrom('service_nexus_request').select('status').where('request_id', '=', requestId).execute()

    it('refuses a timestamp whose offset PostgreSQL cannot store with 400 at /timestamp, recording nothing', async () => {
      for (const [id, timestamp] of [
        ['off-east', '2025-06-04T12:00:00+20:00'],
        ['off-west', '2025-06-04T12:00:00-16:00'],
        ['off-max', '2025-06-04T12:00:00+23:59'],
      ] as const) {
        const res = await post({ type: 'campaign_event', event: 'content.create', timestamp, request_id: id })
        assert.equal(res.statusCode, 400, `${timestamp}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          json(res).error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
          [['body', '/timestamp']],
        )
        assert.equal((await events(id)).length, 0)
        assert.equal((await records(id)).length, 0)
      }
      // The widest offsets PostgreSQL takes are kept, as the instant they name.
      const widest = await post({
        type: 'campaign_event',
        event: 'content.create',
        timestamp: '2025-06-04T12:00:00-15:59',
        request_id: 'off-ok',
      })
      assert.equal(widest.statusCode, 200, widest.body)
      const [row] = await db()
        .selectFrom('service_analytics_event')
        .select('timestamp')
        .where('event_id', '=', 'off-ok')
        .execute()
      assert.equal(row!.timestamp.toISOString(), '2025-06-05T03:59:00.000Z')
    })

    it('refuses a join with such a timestamp before it makes the member, so its retry runs', async () => {
      const body = (timestamp?: string) => ({
        type: 'campaign_event',
        event: 'user.register',
        request_id: 'join-offset',
        payload: { email: 'offset-join@example.com', name: 'Offset' },
        ...(timestamp ? { timestamp } : {}),
      })
      const refused = await post(body('2025-06-04T12:00:00+20:00'))
      assert.equal(refused.statusCode, 400, refused.body)
      assert.equal(json(refused).error.details[0].path, '/timestamp')
      const members = () =>
        db()
          .selectFrom('service_user_master')
          .select('email')
          .where('email', '=', 'offset-join@example.com')
          .execute()
      assert.equal((await members()).length, 0)
      assert.equal((await records('join-offset')).length, 0)
      // The corrected retry under the same id joins (before: a held id, 409 REQUEST_IN_PROGRESS).
      const retry = await post(body('2025-06-04T12:00:00+02:00'))
      assert.equal(retry.statusCode, 200, retry.body)
      assert.equal((await members()).length, 1)
    })

    it('answers such a timestamp over the WebSocket with its update_ack, VALIDATION_FAILED', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      const c = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
      try {
        c.send({
          type: 'campaign_event',
          event: 'content.create',
          timestamp: '2025-06-04T12:00:00+20:00',
          request_id: 'ws-offset',
        })
        const ack = await c.next((f) => f.type === 'update_ack' && f.request_id === 'ws-offset', 20_000)
        assert.equal(ack.status, 'error')
        assert.equal(ack.error.code, 'VALIDATION_FAILED')
        assert.equal(ack.error.details[0].path, '/timestamp')
        assert.equal((await events('ws-offset')).length, 0)
      } finally {
        c.close()
      }
    })

    it('refuses an Idempotency-Key it cannot keep with 400 naming the header, running nothing', async () => {
      const long = 'k'.repeat(129)
      for (const key of [long, '']) {
        const res = await post({ action: 'content.create', data: { n: 1 } }, { 'idempotency-key': key })
        assert.equal(res.statusCode, 400, `${JSON.stringify(key)}: ${res.body}`)
        const { error } = json(res)
        assert.equal(error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
          [['headers', '/idempotency-key']],
        )
      }
      const counted = await db()
        .selectFrom('service_analytics_event')
        .select('event_id')
        .where('campaign_slug', '=', slug)
        .where('event', '=', 'content.create')
        .where('payload', '@>', JSON.stringify({ n: 1 }) as never)
        .execute()
      assert.equal(counted.length, 0)
      // The same refusal on the lead form's own route.
      const lead = await post(
        { campaign: slug, email: 'long-key@example.com', name: 'Long' },
        { 'idempotency-key': long },
        '/api/quote',
      )
      assert.equal(lead.statusCode, 400, lead.body)
      assert.equal(json(lead).error.details[0].path, '/idempotency-key')
      const leads = await db()
        .selectFrom('service_quote_main')
        .select('id')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(leads.length, 0)
    })

    it('keeps a key of 128 characters: its retry is answered from the record and runs once', async () => {
      const key = 'q'.repeat(128)
      const first = await post({ action: 'content.create', data: { n: 2 } }, { 'idempotency-key': key })
      const again = await post({ action: 'content.create', data: { n: 2 } }, { 'idempotency-key': key })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.equal((await events(key)).length, 1)
    })
  })
}
