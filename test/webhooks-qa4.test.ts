// Fourth QA pass on CRM webhooks: a message's body is fixed when it is queued (every attempt and
// replay, on any node, sends the same bytes: the stored jsonb as a worker reads it); events while an endpoint
// is disabled are recorded, shown in its log, and sent by a replay or a recovery once it is enabled
// again; the SDK pages the delivery log, ends grace periods and recovers.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createClient, type OvasabiClient } from '../client/index.js'
import { storedBody } from '../src/modules/notification/stored-body.js'
import {
  ADMIN_KEY,
  adminHeaders,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  listenLocally,
  withDatabase,
} from './helper.js'
import {
  FAST_WEBHOOKS,
  receiver,
  submitLead,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

const FAST = FAST_WEBHOOKS

/** A CRM on a real port that keeps each request's body as the bytes it got; `status(n)` answers request n. */
const rawReceiver = (status: (n: number) => number = () => 204) =>
  receiver((n, _req, res) => {
    res.writeHead(status(n)).end()
  })

for (const dialect of DIALECTS) {
  describe(`webhook bodies, disabled endpoints and the SDK (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST)
    const { servers } = suite
    let sdk: OvasabiClient
    before(async () => {
      sdk = createClient({ baseUrl: await listenLocally(suite.app), apiKey: ADMIN_KEY })
    })

    async function endpoint(status?: (n: number) => number, events = ['lead.created']) {
      const r = await rawReceiver(status)
      servers.push(r)
      const slug = await createCampaign(suite.app)
      const created = await sdk.webhooks.create(slug, { url: r.url, events: events as ['lead.created'] })
      r.setSecret(created.secret)
      return { r, slug, id: created.id }
    }

    async function lead(slug: string, email: string) {
      const guest = await guestToken(suite.app)
      const res = await submitLead(suite.app, guest.token, slug, email)
      assert.equal(res.statusCode, 200, res.body)
    }

    it('a retry and a replay send the first attempt’s body byte for byte', async () => {
      // The first attempt fails: the retry comes from the stored row, not from memory.
      const { r, slug, id } = await endpoint((n) => (n === 1 ? 500 : 204))
      await lead(slug, 'bytes@example.com')
      await waitFor(() => r.got.length >= 2, 'the retry')
      const [first, retry] = r.got
      assert.equal(retry!.id, first!.id)
      assert.equal(retry!.raw, first!.raw)
      assert.equal(first!.verified && retry!.verified, true)
      // The retry's answer is in, but its outcome may not be written yet (the message is still
      // `sending` until it is, and a replay then is 409 MESSAGE_SENDING).
      await waitFor(
        async () => (await webhookMessages(suite.app, slug, id))[0]?.status === 'delivered',
        'the retry recorded as delivered',
      )
      await sdk.webhooks.replay(slug, id, first!.id)
      await waitFor(() => r.got.length >= 3, 'the replay')
      assert.equal(r.got[2]!.raw, first!.raw)
      assert.equal(r.got[2]!.verified, true)
    })

    it('events while an endpoint is disabled are logged, then replayed or recovered once it is enabled', async () => {
      // The receiver's 410 to the test message disables the endpoint.
      const { r, slug, id } = await endpoint((n) => (n === 1 ? 410 : 204), ['*'])
      await sdk.webhooks.test(slug, id)
      await waitFor(async () => (await sdk.webhooks.list(slug)).webhooks[0]!.enabled === false, 'disabled')
      await lead(slug, 'while.off.1@example.com')
      await lead(slug, 'while.off.2@example.com')
      assert.equal(r.got.length, 1, 'nothing is sent while disabled')

      const skipped = (await webhookMessages(suite.app, slug, id)).filter((m) => m.event === 'lead.created')
      assert.equal(skipped.length, 2)
      for (const m of skipped) {
        assert.equal(m.status, 'cancelled')
        assert.match(m.last_error, /endpoint disabled.*410/)
      }
      // The delivery log shows them: no request made (attempt 0, no status code), and why.
      const log = (await sdk.webhooks.deliveries(slug, id)).deliveries.filter(
        (d) => d.event === 'lead.created',
      )
      assert.deepEqual(
        log.map((d) => [d.attempt, d.status_code, d.message_status]),
        [
          [0, null, 'cancelled'],
          [0, null, 'cancelled'],
        ],
      )
      assert.match(log[0]!.error ?? '', /endpoint disabled/)
      // Recovery from the first of them on (the test message the 410 answered is older).
      const since = skipped[1]!.created_at as string
      // Still disabled: a replay or a recovery is refused, saying so.
      const refused = await suite.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/webhooks/${id}/recover`,
        headers: adminHeaders,
        payload: { since },
      })
      assert.equal(refused.statusCode, 409, refused.body)
      assert.equal(json(refused).error.code, 'WEBHOOK_DISABLED')

      await sdk.webhooks.enable(slug, id)
      // One by replay ...
      await sdk.webhooks.replay(slug, id, skipped[1]!.message_id)
      await waitFor(() => r.got.length >= 2, 'the replayed message')
      assert.equal(r.got[1]!.id, skipped[1]!.message_id)
      assert.equal(r.got[1]!.verified, true)
      assert.equal(JSON.parse(r.got[1]!.raw).data.lead.email, 'while.off.1@example.com')
      await waitFor(
        async () =>
          (await webhookMessages(suite.app, slug, id)).find((m) => m.message_id === skipped[1]!.message_id)
            ?.status === 'delivered',
        'the replay settled',
      )
      // ... the other by recovery, which leaves the one delivered since alone.
      assert.equal((await sdk.webhooks.recover(slug, id, since)).recovered, 1)
      await waitFor(() => r.got.length >= 3, 'the recovered message')
      assert.equal(r.got[2]!.id, skipped[0]!.message_id)
      assert.equal(r.got[2]!.verified, true)
      assert.equal(JSON.parse(r.got[2]!.raw).data.lead.email, 'while.off.2@example.com')
    })

    it('the SDK pages the delivery log and ends grace periods', async () => {
      const { r, slug, id } = await endpoint()
      for (let i = 0; i < 3; i++) await sdk.webhooks.test(slug, id)
      await waitFor(() => r.got.length >= 3, 'three test deliveries')
      await waitFor(async () => (await sdk.webhooks.deliveries(slug, id)).deliveries.length >= 3, 'the log')
      const all = (await sdk.webhooks.deliveries(slug, id)).deliveries
      const page1 = (await sdk.webhooks.deliveries(slug, id, { limit: 2 })).deliveries
      assert.deepEqual(
        page1.map((d) => d.id),
        all.slice(0, 2).map((d) => d.id),
      )
      const page2 = (await sdk.webhooks.deliveries(slug, id, { limit: 2, before: page1[1]!.id })).deliveries
      assert.deepEqual(
        page2.map((d) => d.id),
        all.slice(2, 4).map((d) => d.id),
      )

      await sdk.webhooks.rotate(slug, id, 3600)
      assert.equal((await sdk.webhooks.list(slug)).webhooks[0]!.previous_secrets.length, 1)
      const ended = await sdk.webhooks.endPreviousSecrets(slug, id)
      assert.deepEqual(ended.previous_secrets, [])
      assert.equal(ended.previous_secret_expires_at, null)
    })
  })

  describe(`the body as the outbox gives it back (${dialect})`, () => {
    it("is the first attempt's body for any payload: jsonb's key order, nested, non-ASCII, integer-like keys", async () => {
      await withDatabase(dialect, async (database) => {
        const payloads: object[] = [
          { type: 'lead.created', timestamp: '2026-01-01T00:00:00.000Z', data: { lead: { id: 'l1' } } },
          {
            zz: 1,
            a: 2,
            é: 3,
            e: 4,
            bb: [{ y: 1, x: { d: 1, c: [3, { b: 2, a: 1 }] } }],
            '10': 'ten',
            '9': 'nine',
            '': 0,
          },
          { émoji: '😀', ü: 'ü', u: 'u', long_key_name: null, n: 1.5e21, t: true, s: 'line\nbreak "quoted"' },
          [{ b: 1, a: 2 }, 'x', 3],
        ]
        for (const payload of payloads) {
          const { rows } = await sql<{ v: unknown }>`select ${JSON.stringify(payload)}::jsonb as v`.execute(
            database.db,
          )
          // What a worker sends on a retry: the driver's parse of the stored jsonb, serialised.
          assert.equal(storedBody(payload), JSON.stringify(rows[0]!.v), JSON.stringify(payload))
        }
      })
    })
  })
}
