// A request whose client named no request id (no `request_id`, `Idempotency-Key` or `X-Request-Id`)
// gets one from the server. No copy of it can name that id, so no idempotency record is kept for
// it; everything else it commits (event, counters, effects) is committed as for any request.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

for (const dialect of DIALECTS) {
  describe(`actions whose request id is the server's (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let auth: { authorization: string }
    let token: string

    before(async () => {
      t = await buildTestApp({ dialect })
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      slug = await createCampaign(t.app)
      token = (await guestToken(t.app)).token
      auth = { authorization: `Bearer ${token}` }
    })
    after(() => t.close())

    const db = () => t.app.platform.database.db
    const post = (payload: object, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `/api/${slug}/update`, headers: { ...auth, ...headers }, payload })
    const records = async (requestId: string) =>
      (
        await db()
          .selectFrom('service_nexus_request')
          .select('request_id')
          .where('request_id', '=', requestId)
          .execute()
      ).length
    const events = async (requestId: string) =>
      (
        await db()
          .selectFrom('service_analytics_event')
          .select('event_id')
          .where('event_id', '=', requestId)
          .execute()
      ).length
    /** `events.{name}` of the campaign's stats (its `event:{name}` counter). */
    const counted = async (name: string) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      return Number(json(res).events[name] ?? 0)
    }

    it('commits the action and its event under the request id it answers with, and keeps no record', async () => {
      const before = await counted('content.create')
      const res = await post({ action: 'content.create', data: { title: 'no id' } })
      assert.equal(res.statusCode, 200, res.body)
      const id = json(res).request_id as string
      assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/)
      assert.equal(await events(id), 1)
      assert.equal(await counted('content.create'), before + 1)
      assert.equal(await records(id), 0)
    })

    it('keeps the record when the client named the id, in the body, Idempotency-Key or X-Request-Id', async () => {
      const cases: Array<[string, object, Record<string, string>]> = [
        ['body-named-1', { request_id: 'body-named-1' }, {}],
        ['key-named-1', {}, { 'idempotency-key': 'key-named-1' }],
        ['01M8WDN1XSDG8HX0S53CCENW0X', {}, { 'x-request-id': '01M8WDN1XSDG8HX0S53CCENW0X' }],
      ]
      for (const [id, extra, headers] of cases) {
        const body = { action: 'content.create', data: { title: id }, ...extra }
        const first = await post(body, headers)
        assert.equal(first.statusCode, 200, first.body)
        assert.equal(json(first).request_id, id)
        assert.equal(await records(id), 1, id)
        const again = await post(body, headers)
        assert.equal(again.headers['idempotent-replayed'], 'true', id)
        assert.deepEqual(json(again), json(first))
        assert.equal(await events(id), 1, id)
      }
    })

    it('runs an action that claims its id first (registration) without a claim, and refuses without a record', async () => {
      const join = (email: string) => post({ action: 'user.register', data: { email, name: 'Keyless' } })
      const first = await join('keyless.first@example.com')
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(await records(json(first).request_id), 0)
      const user = await db()
        .selectFrom('service_user_master')
        .select('email')
        .where('email', '=', 'keyless.first@example.com')
        .executeTakeFirst()
      assert.ok(user)
      // A refusal (the handler's 4xx) is the answer, and nothing is recorded for it either.
      const refused = await post({ action: 'user.register', data: { email: 'not an email', name: 'X' } })
      assert.equal(refused.statusCode, 400, refused.body)
      assert.equal(json(refused).status, 'error')
      assert.equal(await records(json(refused).request_id), 0)
    })

    it('acknowledges a WebSocket action sent without request_id under its own id, keeping no record', async () => {
      const ws = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
      try {
        ws.send({ type: 'campaign_event', event: 'content.create', payload: { title: 'ws, no id' } })
        const ack = await ws.next((f) => f.type === 'update_ack')
        assert.equal(ack.status, 'success', JSON.stringify(ack))
        assert.match(ack.request_id, /^[0-9A-HJKMNP-TV-Z]{26}$/)
        assert.equal(await events(ack.request_id), 1)
        assert.equal(await records(ack.request_id), 0)
        // One the client names is recorded, and its repeat answered from the record, acting once.
        const named = {
          type: 'campaign_event',
          event: 'content.create',
          payload: { t: 1 },
          request_id: 'ws-named-1',
        }
        const acks = () => ws.frames.filter((f) => f.type === 'update_ack' && f.request_id === 'ws-named-1')
        ws.send(named)
        await ws.next((f) => f.type === 'update_ack' && f.request_id === 'ws-named-1')
        ws.send(named)
        await ws.next(() => acks().length === 2)
        assert.deepEqual(acks()[1], acks()[0])
        assert.equal(await records('ws-named-1'), 1)
        assert.equal(await events('ws-named-1'), 1)
      } finally {
        ws.close()
      }
    })

    it('submits a lead over POST /api/quote without Idempotency-Key: the lead and its event, no record', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: auth,
        payload: { campaign: slug, name: 'Keyless Lead', email: 'keyless.lead@example.com', consent: true },
      })
      assert.ok(res.statusCode < 300, res.body)
      const id = json(res).request_id as string
      assert.equal(await events(id), 1)
      assert.equal(await records(id), 0)
      const lead = await db()
        .selectFrom('service_quote_main')
        .select('email')
        .where('campaign_slug', '=', slug)
        .where('email', '=', 'keyless.lead@example.com')
        .executeTakeFirst()
      assert.ok(lead)
    })
  })
}
