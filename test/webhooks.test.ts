import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  createDeliveryWorker,
  createSecretBox,
  createWebhookService,
  followWorkerNotices,
  isPrivateAddress,
} from '../src/modules/notification/index.js'
import { backoffMs, retryDelayMs } from '../src/modules/notification/delivery-worker.js'
import { parseRetryAfter } from '../src/modules/notification/sender.js'
import { lookupCached } from '../src/modules/notification/target-guard.js'
import { enqueueMany, purgeFinished, scrubSubjects } from '../src/modules/notification/webhook.repo.js'
import { createRedisBus } from '../src/platform/bus/redis.js'
import { createRedis } from '../src/platform/redis.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  REDIS_URL,
  type TestContext,
} from './helper.js'
import {
  FAST_WEBHOOKS,
  heldAnswers,
  receiver,
  registerWebhook,
  submitLead,
  subscribe,
  verifies,
  waitFor,
  webhookMessages,
} from './webhook-fixtures.js'

// FAST_WEBHOOKS' 3 s timeout is long enough that a loaded host never times out an answer the
// receiver gave at once (a retry would show the receiver the message twice); the timeout test
// holds its answer longer. The breaker trips after 3 failures here, for the breaker tests.
const FAST = { ...FAST_WEBHOOKS, WEBHOOK_CIRCUIT_THRESHOLD: '3' }

/** A delivery worker of a test's own, beside the app's. */
const WORKER = {
  pollMs: 20,
  timeoutMs: 10_000,
  retryBaseMs: 50,
  maxAttempts: 5,
  circuitThreshold: 100,
  circuitCooldownMs: 1000,
  allowPrivate: true,
}

describe('webhook target lookups', () => {
  it('resolve a host once per 30 s, share the lookup in flight, and never keep a failure', async () => {
    const host = `crm-${Math.random().toString(36).slice(2)}.example`
    let calls = 0
    const resolve = async () => {
      calls++
      return [{ address: '203.0.113.7', family: 4 }]
    }
    const t0 = Date.now()
    const [a, b] = await Promise.all([lookupCached(host, resolve, t0), lookupCached(host, resolve, t0)])
    assert.deepEqual(a, b)
    await lookupCached(host, resolve, t0 + 29_000)
    assert.equal(calls, 1)
    await lookupCached(host, resolve, t0 + 31_000)
    assert.equal(calls, 2, 'asked again once the 30 s are up')

    const failing = `down-${host}`
    let failures = 0
    const fail = async () => {
      failures++
      throw new Error('ENOTFOUND')
    }
    await assert.rejects(lookupCached(failing, fail, t0))
    await assert.rejects(lookupCached(failing, fail, t0 + 1))
    assert.equal(failures, 2, 'a failed lookup is not cached')
  })
})

for (const dialect of DIALECTS) {
  describe(`webhooks (${dialect})`, () => {
    let ctx: TestContext
    let guest: { token: string }
    const servers: Array<{ close(): Promise<void> }> = []

    before(async () => {
      ctx = await buildTestApp({ dialect, env: FAST })
      guest = await guestToken(ctx.app)
    })
    after(async () => {
      for (const s of servers) await s.close()
      await ctx.close()
    })

    async function setup(
      respond?: Parameters<typeof receiver>[0],
      events: string[] = ['lead.created', 'lead.updated'],
      rules: Record<string, unknown> = {},
    ) {
      const slug = await createCampaign(ctx.app, { metadata: { custom_rules: rules } })
      const r = await receiver(respond)
      servers.push(r)
      return { slug, r, ...(await subscribe(ctx.app, slug, r, events)) }
    }
    const submit = (slug: string, email = `p${Math.random().toString(36).slice(2)}@example.com`) =>
      submitLead(ctx.app, guest.token, slug, email)
    /** An editor moves a lead along its lifecycle (which sends lead.updated). */
    const moveLead = (slug: string, lead: string, status: string) =>
      ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/${lead}`,
        headers: adminHeaders,
        payload: { status },
      })
    const get = async (url: string) =>
      json(await ctx.app.inject({ method: 'GET', url, headers: adminHeaders }))
    const post = (url: string) => ctx.app.inject({ method: 'POST', url, headers: adminHeaders })

    it('registers an endpoint and delivers a signed lead.created', async () => {
      const { slug, r, id, secret } = await setup()
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/)
      const list = await get(`/api/campaign/${slug}/webhooks`)
      assert.equal(list.webhooks.length, 1)
      assert.equal(list.webhooks[0].id, id)
      assert.equal(JSON.stringify(list).includes(secret.slice(6)), false, 'the secret is never listed')
      const stored = await ctx.app.platform.database.db
        .selectFrom('service_notification_webhook')
        .select('secret_sealed')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.equal(stored.secret_sealed.includes(secret.slice(6)), false, 'the secret is sealed at rest')

      const lead = json(await submit(slug, 'crm@example.com')).result.lead_id
      const got = await waitFor(() => r.got[0], 'delivery')
      assert.equal(got.verified, true)
      assert.match(got.id, /^msg_/)
      assert.ok(Math.abs(got.timestamp - Date.now() / 1000) < 60)
      assert.equal(got.body.type, 'lead.created')
      assert.equal(got.body.data.lead.id, lead)
      assert.equal(got.body.data.lead.email, 'crm@example.com')
      // The payload's lead is the lead the admin API shows.
      assert.deepEqual(got.body.data.lead, await get(`/api/campaign/${slug}/leads/${lead}`))
      const log = await waitFor(async () => {
        const d = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)).deliveries
        return d.length > 0 && d[0].message_status === 'delivered' && d
      }, 'delivery log')
      assert.equal(log[0].status_code, 204)
      assert.equal(log[0].message_id, got.id)
    })

    it('sends only subscribed events; status changes arrive as lead.updated', async () => {
      const { slug, r } = await setup(undefined, ['lead.updated'])
      const lead = json(await submit(slug)).result.lead_id
      assert.equal((await moveLead(slug, lead, 'contacted')).statusCode, 200)
      const got = await waitFor(() => r.got[0], 'lead.updated')
      assert.equal(got.body.type, 'lead.updated')
      assert.equal(got.body.data.change.to, 'contacted')
      assert.equal(r.got.length, 1, 'lead.created was not sent')
    })

    it('moves an endpoint to a new URL and changes its events, keeping its secret and history', async () => {
      const { slug, r, id, secret } = await setup(undefined, ['lead.created'])
      await submit(slug)
      await waitFor(() => r.got[0], 'the first lead.created at the old URL')
      const moved = await receiver()
      servers.push(moved)
      moved.setSecret(secret)
      const patch = (payload: Record<string, unknown>, headers: Record<string, string> = adminHeaders) =>
        ctx.app.inject({ method: 'PATCH', url: `/api/campaign/${slug}/webhooks/${id}`, headers, payload })
      const res = await patch({ url: moved.url, events: ['lead.updated'], description: 'HubSpot' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        [json(res).url, json(res).events, json(res).description],
        [moved.url, ['lead.updated'], 'HubSpot'],
      )
      // No longer subscribed to lead.created; a status change goes to the new URL, signed with
      // the same secret.
      const lead = json(await submit(slug)).result.lead_id
      assert.equal((await moveLead(slug, lead, 'contacted')).statusCode, 200)
      const got = await waitFor(() => moved.got[0], 'lead.updated at the new URL')
      assert.equal(got.body.type, 'lead.updated')
      assert.equal(got.verified, true)
      assert.equal(r.got.length, 1, 'nothing more went to the old URL')
      assert.equal(moved.got.length, 1, 'the second lead.created was not sent')
      // The log row is written once the worker has read the answer, which may be after the
      // receiver saw the request: awaited.
      await waitFor(async () => {
        const d = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)).deliveries
        return d.length >= 2 && d
      }, 'the log of both attempts, the one at the old URL kept')
      const deliveries = await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)
      assert.equal(deliveries.deliveries.length, 2, 'the log kept the attempt at the old URL')

      for (const bad of [
        {},
        { url: 'ftp://example.com/x' },
        { events: [] },
        { events: ['x'] },
        { secret: 's' },
      ]) {
        assert.equal((await patch(bad)).statusCode, 400, JSON.stringify(bad))
      }
      assert.equal(
        (await patch({ description: 'x' }, { authorization: `Bearer ${guest.token}` })).statusCode,
        403,
      )
      const missing = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/webhooks/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ`,
        headers: adminHeaders,
        payload: { description: 'x' },
      })
      assert.equal(missing.statusCode, 404)
    })

    it('tells subscribed CRMs when a lead is erased (lead.erased, no personal field)', async () => {
      const { slug, r } = await setup(undefined, ['lead.erased'])
      const email = `gone.${Date.now()}@example.com`
      const lead = json(await submit(slug, email)).result.lead_id
      const erased = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/leads/${lead}`,
        headers: adminHeaders,
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const got = await waitFor(() => r.got.find((m) => m.body.type === 'lead.erased'), 'lead.erased')
      assert.equal(got.verified, true)
      assert.deepEqual(Object.keys(got.body.data).sort(), ['campaign', 'erased_at', 'lead_id'])
      assert.deepEqual([got.body.data.lead_id, got.body.data.campaign], [lead, slug])
      assert.equal(JSON.stringify(got.body).includes(email), false)
      assert.equal(r.got.length, 1, 'lead.created was not subscribed; the notice went once')

      // The same through a registered person's own erasure (in the users module's transaction).
      const joined = json(
        await ctx.app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, email: `member.${email}`, name: 'Member' },
        }),
      )
      const mine = json(await submitLead(ctx.app, joined.token, slug, `member.${email}`, 'Member')).result
        .lead_id
      const gone = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/user/${joined.user.id}`,
        headers: { authorization: `Bearer ${joined.token}` },
      })
      assert.equal(gone.statusCode, 200, gone.body)
      const second = await waitFor(
        () => r.got.find((m) => m.body.type === 'lead.erased' && m.body.data.lead_id === mine),
        'lead.erased after the account erasure',
      )
      assert.equal(second.verified, true)
      await new Promise((res) => setTimeout(res, 300))
      assert.equal(r.got.length, 2, 'one notice per erased lead')
    })

    it('retries failures with the same webhook-id, honouring Retry-After', async () => {
      const { slug, r, id } = await setup((n, _req, res) => {
        if (n === 1) res.writeHead(503, { 'retry-after': '1' }).end()
        else if (n === 2) res.writeHead(500).end()
      })
      await submit(slug)
      await waitFor(() => r.got.length >= 3, 'three attempts')
      assert.equal(new Set(r.got.map((g) => g.id)).size, 1)
      assert.ok(r.got.every((g) => g.verified))
      assert.ok(
        r.got[1]!.at - r.got[0]!.at >= 900,
        `Retry-After: 1 honoured (${r.got[1]!.at - r.got[0]!.at} ms)`,
      )
      const log = await waitFor(async () => {
        const d = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)).deliveries
        return d.length === 3 && d[0].message_status === 'delivered' && d
      }, 'log of three attempts')
      assert.deepEqual(
        log.map((d: any) => d.status_code),
        [204, 500, 503],
      )
      assert.deepEqual(
        log.map((d: any) => d.attempt),
        [3, 2, 1],
      )
    })

    it('gives up on a timeout attempt and retries', async () => {
      const { slug, r, id } = await setup((n, _req, res) => {
        if (n === 1) {
          ;(res as any).held = true
          setTimeout(() => res.writeHead(200).end(), 8000).unref()
        }
      })
      await submit(slug)
      const log = await waitFor(async () => {
        const d = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)).deliveries
        return d.some((x: any) => x.message_status === 'delivered') && d
      }, 'delivery after a timeout')
      const first = log[log.length - 1]
      assert.equal(first.status_code, null)
      assert.match(first.error, /timeout/)
      assert.ok(r.got.length >= 2)
    })

    it('disables the endpoint on 410 Gone', async () => {
      const { slug, r, id } = await setup((_n, _req, res) => res.writeHead(410).end())
      await submit(slug)
      const hook = await waitFor(async () => {
        const w = (await get(`/api/campaign/${slug}/webhooks`)).webhooks[0]
        return w.enabled === false && w
      }, 'endpoint disabled')
      assert.match(hook.disabled_reason, /410/)
      // The message is settled after the endpoint is disabled: awaited.
      const messagesOf = async () => (await get(`/api/campaign/${slug}/webhooks/${id}/messages`)).messages
      await waitFor(async () => (await messagesOf())[0]?.status === 'failed', 'the message failed')
      await submit(slug)
      await new Promise((res) => setTimeout(res, 300))
      assert.equal(r.got.length, 1, 'nothing sent to a disabled endpoint')
      // The event while disabled is recorded, not sent (cancelled, saying why), for a replay or a
      // recovery once the endpoint is enabled again (see webhooks-qa4.test.ts).
      const [skipped, failed] = await messagesOf()
      assert.equal(skipped.status, 'cancelled')
      assert.match(skipped.last_error, /endpoint disabled.*410/)
      assert.equal(failed.status, 'failed')
      // Nothing can be queued for it while it is disabled: it would wait for good.
      for (const refused of [
        await post(`/api/campaign/${slug}/webhooks/${id}/messages/${failed.message_id}/replay`),
        await post(`/api/campaign/${slug}/webhooks/${id}/test`),
      ]) {
        assert.equal(refused.statusCode, 409, refused.body)
        assert.equal(json(refused).error.code, 'WEBHOOK_DISABLED')
        assert.match(json(refused).error.message, /410/)
      }
      const enabled = await post(`/api/campaign/${slug}/webhooks/${id}/enable`)
      assert.equal(json(enabled).enabled, true)
      const replayed = await post(`/api/campaign/${slug}/webhooks/${id}/messages/${failed.message_id}/replay`)
      assert.equal(replayed.statusCode, 202, replayed.body)
    })

    it('opens the circuit breaker after repeated failures', async () => {
      const { slug, r, id } = await setup((_n, _req, res) => res.writeHead(500).end())
      await submit(slug)
      const hook = await waitFor(async () => {
        const w = (await get(`/api/campaign/${slug}/webhooks`)).webhooks[0]
        return w.circuit === 'open' && w
      }, 'circuit open')
      assert.equal(hook.consecutive_failures, 3)
      // The third attempt is settled (back to pending, for after the cooldown) once the circuit
      // opened: awaited.
      await waitFor(async () => {
        const messages = (await get(`/api/campaign/${slug}/webhooks/${id}/messages`)).messages
        return messages[0]?.status === 'pending'
      }, 'the message waiting for the circuit')
      await new Promise((res) => setTimeout(res, 400))
      assert.equal(r.got.length, 3, 'no attempts while the circuit is open')
    })

    it('pages through every message with before, and picks them by status', async () => {
      const { slug, r, id } = await setup()
      for (let i = 0; i < 5; i++) assert.equal((await submit(slug)).statusCode, 200)
      await waitFor(() => r.got.length >= 5, 'five deliveries')
      const list = async (query: string) =>
        (await get(`/api/campaign/${slug}/webhooks/${id}/messages?${query}`)).messages as Array<{
          message_id: string
          status: string
        }>
      const all = await list('limit=500')
      assert.equal(all.length, 5)
      const seen: string[] = []
      let before = ''
      for (let page = 0; page < 5; page++) {
        const got = await list(`limit=2${before ? `&before=${before}` : ''}`)
        if (got.length === 0) break
        seen.push(...got.map((m) => m.message_id))
        before = got.at(-1)!.message_id
      }
      assert.deepEqual(
        seen,
        all.map((m) => m.message_id),
        'newest first, each once',
      )

      await ctx.app.platform.database.db
        .updateTable('service_notification_outbox')
        .set({ status: 'failed', last_error: 'HTTP 500' })
        .where('message_id', '=', all[3]!.message_id)
        .execute()
      const failed = await list('status=failed')
      assert.deepEqual(
        failed.map((m) => m.message_id),
        [all[3]!.message_id],
      )
      const bogus = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks/${id}/messages?status=bogus`,
        headers: adminHeaders,
      })
      assert.equal(bogus.statusCode, 400)
    })

    it('replays a message, sends a test event, and rotates the secret with a grace period', async () => {
      const { slug, r, id, secret } = await setup()
      await submit(slug)
      const first = await waitFor(() => r.got[0], 'first delivery')
      await waitFor(async () => {
        const m = (await get(`/api/campaign/${slug}/webhooks/${id}/messages`)).messages
        return m[0]?.status === 'delivered'
      }, 'delivered state')
      const replay = await post(`/api/campaign/${slug}/webhooks/${id}/messages/${first.id}/replay`)
      assert.equal(replay.statusCode, 202, replay.body)
      const again = await waitFor(() => r.got[1], 'replayed delivery')
      assert.equal(again.id, first.id)
      assert.equal(again.verified, true)
      assert.deepEqual(again.body, first.body)

      const rotated = await post(`/api/campaign/${slug}/webhooks/${id}/rotate`)
      const fresh = json(rotated).secret
      assert.notEqual(fresh, secret)
      r.setSecret(fresh)
      const test = await post(`/api/campaign/${slug}/webhooks/${id}/test`)
      assert.equal(test.statusCode, 202)
      const probe = await waitFor(() => r.got[2], 'test delivery')
      assert.equal(probe.body.type, 'webhook.test')
      assert.equal(probe.id, json(test).message_id)
      assert.equal(probe.verified, true, 'signed with the new secret')
      // A day's grace by default: the previous secret signs too, so a CRM still on it accepts.
      assert.equal(probe.signature.split(' ').length, 2)
      assert.equal(
        verifies(secret, probe.id, String(probe.timestamp), JSON.stringify(probe.body), probe.signature),
        true,
        'the previous secret still verifies during the grace period',
      )
      const until = Date.parse(json(rotated).webhook.previous_secret_expires_at)
      assert.ok(until > Date.now() + 23 * 3600_000 && until <= Date.now() + 24 * 3600_000)

      // A rotation without grace: only the newest secret signs from now on.
      const cut = await post(`/api/campaign/${slug}/webhooks/${id}/rotate?grace_seconds=0`)
      assert.equal(cut.statusCode, 200, cut.body)
      assert.equal(json(cut).webhook.previous_secret_expires_at, null)
      const newest = json(cut).secret
      r.setSecret(newest)
      const test2 = await post(`/api/campaign/${slug}/webhooks/${id}/test`)
      assert.equal(test2.statusCode, 202)
      const probe2 = await waitFor(() => r.got[3], 'second test delivery')
      assert.equal(probe2.verified, true, 'signed with the newest secret')
      assert.equal(probe2.signature.split(' ').length, 1)
      for (const old of [secret, fresh]) {
        assert.equal(
          verifies(old, probe2.id, String(probe2.timestamp), JSON.stringify(probe2.body), probe2.signature),
          false,
        )
      }
      const badGrace = await post(`/api/campaign/${slug}/webhooks/${id}/rotate?grace_seconds=-5`)
      assert.equal(badGrace.statusCode, 400)

      const missing = await post(
        `/api/campaign/${slug}/webhooks/${id}/messages/msg_01HZZZZZZZZZZZZZZZZZZZZZZZ/replay`,
      )
      assert.equal(missing.statusCode, 404)
      const del = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/webhooks/${id}`,
        headers: adminHeaders,
      })
      assert.equal(del.statusCode, 204)
      assert.equal((await get(`/api/campaign/${slug}/webhooks`)).webhooks.length, 0)
    })

    it('never sends one outbox row twice with several workers racing', async () => {
      // Rows that are due (retries, released leases, what other nodes queued) are claimed by
      // whichever worker gets there first: three workers race over the same 30 rows.
      const { slug, r, id } = await setup(undefined, ['lead.created'])
      const db = ctx.app.platform.database.db
      const options = { ...WORKER, pollMs: 5, batchSize: 3 }
      const box = createSecretBox(ctx.config.JWT_SECRET)
      const workers = [1, 2, 3].map(() => createDeliveryWorker({ db, box }, options))
      const n = 30
      await db
        .insertInto('service_notification_outbox')
        .values(
          Array.from({ length: n }, (_, i) => ({
            message_id: `msg_race_${i}`,
            webhook_id: id,
            campaign_slug: slug,
            event: 'lead.created',
            subject_id: null,
            payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_race_${i}` } } }),
          })),
        )
        .execute()
      for (const w of workers) w.start()
      try {
        await waitFor(() => r.got.length >= n, `${n} deliveries`)
        await new Promise((res) => setTimeout(res, 300))
        assert.equal(r.got.length, n)
        assert.equal(new Set(r.got.map((g) => g.id)).size, n)
      } finally {
        for (const w of workers) await w.stop()
      }
    })

    it('delivers a row committed below the ids a running worker already claimed', async () => {
      // Fresh claims walk the primary key past the last id claimed; a row whose transaction
      // committed late (a lower id than rows already sent) is the sweep's to find.
      const { slug, r, id } = await setup(undefined, ['lead.created'])
      const db = ctx.app.platform.database.db
      const worker = createDeliveryWorker(
        { db, box: createSecretBox(ctx.config.JWT_SECRET) },
        { ...WORKER, pollMs: 100 },
      )
      worker.start()
      try {
        assert.equal((await submit(slug, 'first@example.com')).statusCode, 200)
        await waitFor(() => r.got.length >= 1, 'the first delivery')
        const lowest = await db
          .selectFrom('service_notification_outbox')
          .select((eb) => eb.fn.min('id').as('id'))
          .executeTakeFirstOrThrow()
        await db
          .insertInto('service_notification_outbox')
          .values({
            id: Number(lowest.id) - 1000,
            message_id: 'msg_late',
            webhook_id: id,
            campaign_slug: slug,
            event: 'lead.created',
            subject_id: null,
            payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: 'lead_late' } } }),
          })
          .execute()
        await waitFor(() => r.got.some((g) => g.id === 'msg_late'), 'the late row, by a sweep')
        assert.equal((await submit(slug, 'second@example.com')).statusCode, 200)
        await waitFor(() => r.got.length >= 3, 'a fresh row after the sweep')
        assert.equal(new Set(r.got.map((g) => g.id)).size, 3)
      } finally {
        await worker.stop()
      }
    })

    it('delivers a message whose worker died mid-send once its lease ran out', async () => {
      const { slug, r, id } = await setup(undefined, ['lead.created'])
      const db = ctx.app.platform.database.db
      // What a worker that claimed the row and died leaves behind: `sending`, its lease over.
      await db
        .insertInto('service_notification_outbox')
        .values({
          message_id: 'msg_orphan',
          webhook_id: id,
          campaign_slug: slug,
          event: 'lead.created',
          subject_id: null,
          payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: 'lead_orphan' } } }),
          status: 'sending',
          attempts: 1,
          lease_until: new Date(Date.now() - 1000),
        })
        .execute()
      const worker = createDeliveryWorker({ db, box: createSecretBox(ctx.config.JWT_SECRET) }, WORKER)
      await worker.runOnce()
      await waitFor(() => r.got.length >= 1, 'the orphaned delivery')
      await new Promise((res) => setTimeout(res, 200))
      assert.equal(r.got.length, 1)
      assert.equal(r.got[0]!.id, 'msg_orphan')
      const row = await db
        .selectFrom('service_notification_outbox')
        .select(['status', 'attempts'])
        .where('message_id', '=', 'msg_orphan')
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { status: 'delivered', attempts: 2 })
    })

    /** Outbox rows written already claimed, as a lead commit writes them, ready to hand to `worker`. */
    async function leased(slug: string, leaseMs: number, ids: string[], subject: string | null = null) {
      const payload = (i: string) => ({ type: 'lead.created', data: { lead: { id: `lead_${i}` } } })
      const rows = await enqueueMany(
        ctx.app.platform.database.db,
        ids.map((i) => ({
          messageId: `msg_${i}`,
          campaign: slug,
          event: 'lead.created',
          subjectId: subject,
          payload: payload(i),
        })),
        leaseMs,
      )
      assert.equal(rows.length, ids.length)
      return rows.map((r) => ({
        ...r,
        campaign_slug: slug,
        event: 'lead.created',
        subject_id: subject,
        payload: payload(r.message_id.slice(4)),
        attempts: 1,
      }))
    }
    const outboxRow = (messageId: string) =>
      ctx.app.platform.database.db
        .selectFrom('service_notification_outbox')
        .select(['status', 'attempts'])
        .where('message_id', '=', messageId)
        .executeTakeFirstOrThrow()

    it('sends a lead from the node that committed it, without waiting for a poll', async () => {
      // A poll interval of a minute: only the hand-off after the commit can deliver in time.
      const slow = await buildTestApp({ dialect, env: { ...FAST, WEBHOOK_POLL_MS: '60000' } })
      try {
        const slug = await createCampaign(slow.app)
        const r = await receiver()
        servers.push(r)
        await subscribe(slow.app, slug, r)
        const { token } = await guestToken(slow.app)
        const res = await submitLead(slow.app, token, slug, 'handoff@example.com')
        assert.equal(res.statusCode, 200, res.body)
        const got = await waitFor(() => r.got[0], 'the handed-off delivery')
        assert.equal(got.verified, true)
        assert.equal(got.body.data.lead.email, 'handoff@example.com')
        const row = await waitFor(async () => {
          const row = await slow.app.platform.database.db
            .selectFrom('service_notification_outbox')
            .select(['status', 'attempts'])
            .where('message_id', '=', got.id)
            .executeTakeFirstOrThrow()
          return row.status === 'delivered' && row
        }, 'the settled row')
        assert.deepEqual(row, { status: 'delivered', attempts: 1 })
      } finally {
        await slow.close()
      }
    })

    it('gives rows handed to a stopped worker back, and a sweep delivers them', async () => {
      const { slug, r } = await setup(undefined, ['lead.created'])
      const worker = createDeliveryWorker(
        { db: ctx.app.platform.database.db, box: createSecretBox(ctx.config.JWT_SECRET) },
        WORKER,
      )
      const rows = await leased(slug, worker.leaseMs, ['handed_stopped'])
      assert.deepEqual(await outboxRow('msg_handed_stopped'), { status: 'sending', attempts: 1 })
      worker.handoff(rows) // never started
      // Released (its unused attempt not counted), then the app's worker sweeps it up.
      await waitFor(() => r.got.some((g) => g.id === 'msg_handed_stopped'), 'the released row, delivered')
      assert.equal(r.got[0]!.verified, true)
      const row = await waitFor(async () => {
        const row = await outboxRow('msg_handed_stopped')
        return row.status === 'delivered' && row
      }, 'the settled row')
      assert.deepEqual(row, { status: 'delivered', attempts: 1 })
    })

    it('stops sending queued rows to an endpoint whose circuit opened, and gives them back', async () => {
      const { slug, r } = await setup((_n, _req, res) => res.writeHead(500).end(), ['lead.created'])
      // One row per slot and two slots: the first failure opens the circuit with three rows queued.
      const worker = createDeliveryWorker(
        { db: ctx.app.platform.database.db, box: createSecretBox(ctx.config.JWT_SECRET) },
        { ...WORKER, batchSize: 1, circuitThreshold: 1, circuitCooldownMs: 60_000 },
      )
      worker.start()
      try {
        const ids = ['cb_1', 'cb_2', 'cb_3', 'cb_4', 'cb_5']
        worker.handoff(await leased(slug, worker.leaseMs, ids))
        const states = await waitFor(async () => {
          const all = await Promise.all(ids.map((i) => outboxRow(`msg_${i}`)))
          return all.every((x) => x.status === 'pending') && all
        }, 'every row pending again')
        await new Promise((res) => setTimeout(res, 200))
        assert.equal(r.got.length, 2, 'only the two rows already being sent reached the endpoint')
        assert.deepEqual(
          states.map((x) => x.attempts),
          [1, 1, 0, 0, 0],
        )
      } finally {
        await worker.stop()
      }
    })

    /** An endpoint that answers each send after 300 ms, so a worker's sends queue behind it. */
    const slowEndpoint = () =>
      setup(
        (_n, _req, res) => {
          ;(res as any).held = true
          setTimeout(() => res.writeHead(204).end(), 300)
        },
        ['lead.created'],
      )
    /** The two sends already on the wire went out; the erased rows queued behind them did not. */
    async function neverSentAfterErasure(r: { got: unknown[] }, ids: string[]) {
      await new Promise((res) => setTimeout(res, 800))
      assert.equal(r.got.length, 2, 'the queued rows were never sent')
      for (const i of ids) {
        assert.deepEqual(await outboxRow(`msg_${i}`), { status: 'cancelled', attempts: 1 }, i)
      }
    }

    it('sends nothing more about a person erased while their messages wait in memory', async () => {
      // Slow answers: two sends on the wire, two rows queued behind them in this worker.
      const { slug, r } = await slowEndpoint()
      const db = ctx.app.platform.database.db
      const worker = createDeliveryWorker(
        { db, box: createSecretBox(ctx.config.JWT_SECRET) },
        { ...WORKER, batchSize: 1 },
      )
      worker.start()
      try {
        const ids = ['erased_1', 'erased_2', 'erased_3', 'erased_4']
        worker.handoff(await leased(slug, worker.leaseMs, ids, 'lead_erased'))
        await waitFor(() => r.got.length >= 2, 'the two sends on the wire')
        // What erasure does (webhooks.scrubSubjects): the rows, then this node's queue.
        await scrubSubjects(db, ['lead_erased'])
        worker.forget(['lead_erased'])
        await neverSentAfterErasure(r, ids)
      } finally {
        await worker.stop()
      }
    })

    /** A worker sending one row at a time, told of endpoint changes like every node's worker. */
    async function followingWorker() {
      const worker = createDeliveryWorker(
        { db: ctx.app.platform.database.db, box: createSecretBox(ctx.config.JWT_SECRET) },
        { ...WORKER, batchSize: 1 },
      )
      const unfollow = await followWorkerNotices(ctx.app.platform.bus, worker)
      worker.start()
      return {
        worker,
        async stop() {
          await unfollow()
          await worker.stop()
        },
      }
    }

    it('sends messages waiting in memory to the new URL when their endpoint moves', async () => {
      // Slow answers: two sends on the wire, two rows queued behind them in this worker.
      const { slug, r, id, secret } = await slowEndpoint()
      const { worker, stop } = await followingWorker()
      try {
        const moved = await receiver()
        servers.push(moved)
        moved.setSecret(secret)
        const ids = ['moved_1', 'moved_2', 'moved_3', 'moved_4']
        worker.handoff(await leased(slug, worker.leaseMs, ids))
        await waitFor(() => r.got.length >= 2, 'the two sends on the wire')
        const res = await ctx.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/webhooks/${id}`,
          headers: adminHeaders,
          payload: { url: moved.url },
        })
        assert.equal(res.statusCode, 200, res.body)
        await waitFor(() => moved.got.length >= 2, 'the queued rows, at the new URL')
        await new Promise((res) => setTimeout(res, 400))
        assert.deepEqual(
          r.got.map((g) => g.id),
          ['msg_moved_1', 'msg_moved_2'],
          'only what was already on the wire went to the old URL',
        )
        assert.deepEqual(moved.got.map((g) => g.id).sort(), ['msg_moved_3', 'msg_moved_4'])
        assert.ok(moved.got.every((g) => g.verified))
        for (const i of ids) {
          const row = await waitFor(async () => {
            const row = await outboxRow(`msg_${i}`)
            return row.status === 'delivered' && row
          }, i)
          assert.deepEqual(row, { status: 'delivered', attempts: 1 }, i)
        }
      } finally {
        await stop()
      }
    })

    it('sends nothing more from memory to an endpoint deleted meanwhile', async () => {
      const { slug, r, id } = await slowEndpoint()
      const { worker, stop } = await followingWorker()
      try {
        worker.handoff(
          await leased(slug, worker.leaseMs, ['deleted_1', 'deleted_2', 'deleted_3', 'deleted_4']),
        )
        await waitFor(() => r.got.length >= 2, 'the two sends on the wire')
        const res = await ctx.app.inject({
          method: 'DELETE',
          url: `/api/campaign/${slug}/webhooks/${id}`,
          headers: adminHeaders,
        })
        assert.equal(res.statusCode, 204, res.body)
        await new Promise((res) => setTimeout(res, 800))
        assert.equal(r.got.length, 2, 'the queued rows were never sent')
      } finally {
        await stop()
      }
    })

    it('drops what another node holds in memory about a person erased through this one (Redis bus)', {
      skip: !REDIS_URL && 'needs REDIS_URL',
    }, async () => {
      // The receiver holds its answers until the test releases them: two sends stay on the wire
      // and the rest wait in node A's memory for as long as the bus takes, however loaded the host.
      const held = heldAnswers()
      const { slug, r } = await setup(held.respond, ['lead.created'])
      const db = ctx.app.platform.database.db
      const box = createSecretBox(ctx.config.JWT_SECRET)
      const clients = [await createRedis(REDIS_URL!), await createRedis(REDIS_URL!)]
      const [busA, busB] = clients.map((c) => createRedisBus(c))
      // Node A: a worker sending one row per slot (two slots), told of erasures over the bus; the
      // subjects it is told to forget are noted, so the test knows when the notice got there.
      const worker = createDeliveryWorker({ db, box }, { ...WORKER, batchSize: 1 })
      const forgotten: string[] = []
      const stopForgetting = await followWorkerNotices(busA!, {
        forget(ids) {
          worker.forget(ids)
          forgotten.push(...ids)
        },
        requeue: (ids) => worker.requeue(ids),
      })
      worker.start()
      try {
        const tag = Math.random().toString(36).slice(2, 8)
        const subject = `lead_far_${tag}`
        const ids = [1, 2, 3, 4].map((n) => `far_${tag}_${n}`)
        worker.handoff(await leased(slug, worker.leaseMs, ids, subject))
        await waitFor(() => r.got.length >= 2, 'the two sends on the wire')
        // Node B erases: its own webhook service, which knows nothing of A's queue but the bus.
        const nodeB = createWebhookService({ db, box, allowPrivate: true, bus: busB })
        await nodeB.scrubSubjects([subject])
        await waitFor(() => forgotten.includes(subject), "the erasure notice, at node A's worker")
        // A row about someone else, queued after the erased ones: once it reaches the receiver,
        // every row queued before it has been sent or dropped.
        const last = `far_${tag}_other`
        worker.handoff(await leased(slug, worker.leaseMs, [last], `lead_other_${tag}`))
        held.release()
        await waitFor(() => r.got.some((g) => g.id === `msg_${last}`), 'the row queued last')
        assert.deepEqual(
          r.got.map((g) => g.id).sort(),
          [`msg_${ids[0]}`, `msg_${ids[1]}`, `msg_${last}`].sort(),
          'the two sends on the wire went out, the erased rows queued behind them did not',
        )
        for (const i of ids) {
          assert.deepEqual(await outboxRow(`msg_${i}`), { status: 'cancelled', attempts: 1 }, i)
        }
      } finally {
        held.release()
        await stopForgetting()
        await worker.stop()
        for (const bus of [busA, busB]) await bus!.close()
        for (const c of clients) c.disconnect()
      }
    })

    it('refuses to replay a message about an erased person (409 MESSAGE_ERASED)', async () => {
      const { slug, r, id } = await setup(undefined, ['lead.created'])
      assert.equal((await submit(slug, 'forget-me@example.com')).statusCode, 200)
      const sent = await waitFor(() => r.got[0], 'the delivery')
      await waitFor(async () => (await outboxRow(sent.id)).status === 'delivered', 'the settled row')
      // What erasing the person does to their messages.
      await scrubSubjects(ctx.app.platform.database.db, [sent.body.data.lead.id])
      const res = await post(`/api/campaign/${slug}/webhooks/${id}/messages/${sent.id}/replay`)
      assert.equal(res.statusCode, 409, res.body)
      assert.equal(json(res).error.code, 'MESSAGE_ERASED')
      await new Promise((res) => setTimeout(res, 200))
      assert.equal(r.got.length, 1, 'nothing was sent again')
    })

    it('deletes finished messages past their retention, with their log, and keeps the rest', async () => {
      // A database of its own: the purge relies on ids growing with time, which the messages
      // other tests wrote just now (low ids, young) would contradict for these backdated ones.
      const fresh = await buildTestApp({ dialect, env: FAST })
      try {
        const db = fresh.app.platform.database.db
        const slug = await createCampaign(fresh.app)
        const id = 'wh_01HRRRRRRRRRRRRRRRRRRRRRRR'
        await db
          .insertInto('service_notification_webhook')
          .values({
            id,
            campaign_slug: slug,
            url: 'https://93.184.215.14/crm',
            events: JSON.stringify(['*']),
            secret_sealed: createSecretBox(fresh.config.JWT_SECRET).seal('whsec_c2VjcmV0'),
            created_by: 'test',
            // Open, so the app's worker leaves these rows alone.
            circuit_open_until: new Date(Date.now() + 3_600_000),
          })
          .execute()
        const day = 24 * 60 * 60_000
        const row = (
          name: string,
          status: 'delivered' | 'failed' | 'cancelled' | 'pending',
          ageDays: number,
        ) => ({
          message_id: `msg_ret_${name}`,
          webhook_id: id,
          campaign_slug: slug,
          event: 'lead.created',
          subject_id: null,
          payload: JSON.stringify({ type: 'lead.created', data: {} }),
          status,
          next_attempt_at: new Date(Date.now() + day),
          created_at: new Date(Date.now() - ageDays * day),
        })
        const inserted = await db
          .insertInto('service_notification_outbox')
          .values([
            row('old_delivered', 'delivered', 40),
            row('old_failed', 'failed', 39),
            row('old_retrying', 'pending', 38),
            row('old_cancelled', 'cancelled', 37),
            row('young_delivered', 'delivered', 2),
          ])
          .returning(['id', 'message_id'])
          .execute()
        const oldDelivered = inserted.find((r) => r.message_id === 'msg_ret_old_delivered')!.id
        await db
          .insertInto('service_notification_delivery')
          .values({ outbox_id: oldDelivered, webhook_id: id, attempt: 1, status_code: 204, duration_ms: 3 })
          .execute()
        // Two at a time: the purge goes on until nothing old and finished is left.
        assert.equal(await purgeFinished(db, new Date(Date.now() - 30 * day), 2), 3)
        const left = await db
          .selectFrom('service_notification_outbox')
          .select('message_id')
          .orderBy('id')
          .execute()
        assert.deepEqual(
          left.map((r) => r.message_id),
          ['msg_ret_old_retrying', 'msg_ret_young_delivered'],
        )
        const log = await db.selectFrom('service_notification_delivery').select('id').execute()
        assert.equal(log.length, 0, 'the delivery log went with its message')
        assert.equal(await purgeFinished(db, new Date(Date.now() - 30 * day)), 0)
      } finally {
        await fresh.close()
      }
    })

    it('pages the delivery log newest first with `before`, and refuses a cursor out of range', async () => {
      const { slug, r, id } = await setup((n, _req, res) => {
        if (n < 3) res.writeHead(500).end()
      })
      await submit(slug)
      await waitFor(() => r.got.length >= 3, 'three attempts')
      const all = await waitFor(async () => {
        const d = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries`)).deliveries
        return d.length === 3 && d
      }, 'three log lines')
      const page1 = (await get(`/api/campaign/${slug}/webhooks/${id}/deliveries?limit=2`)).deliveries
      assert.deepEqual(
        page1.map((d: any) => d.id),
        all.slice(0, 2).map((d: any) => d.id),
      )
      const page2 = (
        await get(`/api/campaign/${slug}/webhooks/${id}/deliveries?limit=2&before=${page1[1].id}`)
      ).deliveries
      assert.deepEqual(
        page2.map((d: any) => d.attempt),
        [1],
      )
      const huge = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks/${id}/deliveries?before=99999999999999999999`,
        headers: adminHeaders,
      })
      assert.equal(huge.statusCode, 400, huge.body)
    })

    it('falls back to its own backoff when Retry-After is not a valid value', async () => {
      // A backoff of a minute: a malformed Retry-After read as "now" would retry at once instead.
      const slow = await buildTestApp({ dialect, env: { ...FAST, WEBHOOK_RETRY_BASE_MS: '60000' } })
      const r = await receiver((_n, _req, res) => res.writeHead(503, { 'retry-after': '1.5' }).end())
      try {
        const slug = await createCampaign(slow.app)
        const { id } = await subscribe(slow.app, slug, r)
        const { token } = await guestToken(slow.app)
        const lead = await submitLead(slow.app, token, slug, 'retry-after@example.com')
        assert.equal(lead.statusCode, 200)
        const message = await waitFor(async () => {
          const m = (await webhookMessages(slow.app, slug, id))[0]
          return m?.status === 'pending' && m.last_error && m
        }, 'a failed first attempt')
        assert.equal(message.attempts, 1)
        assert.ok(
          Date.parse(message.next_attempt_at) - Date.now() > 30_000,
          `next attempt at ${message.next_attempt_at}: the backoff, not at once`,
        )
        assert.equal(r.got.length, 1)
      } finally {
        await r.close()
        await slow.close()
      }
    })

    it('never retries sooner than its backoff, whatever Retry-After says (0, or a date past)', async () => {
      // A backoff of a minute (±25 %): Retry-After 0 or a date past, read as "at once", would
      // have the worker (polling every 50 ms) spend all five attempts in well under a second.
      const base = 60_000
      const slow = await buildTestApp({ dialect, env: { ...FAST, WEBHOOK_RETRY_BASE_MS: String(base) } })
      const past = new Date(Date.now() - 3_600_000).toUTCString()
      const r = await receiver((n, _req, res) => {
        const zero = r.got[n - 1]!.body.data.lead.email.startsWith('zero')
        res.writeHead(503, { 'retry-after': zero ? '0' : past }).end()
      })
      try {
        const slug = await createCampaign(slow.app)
        const { id } = await subscribe(slow.app, slug, r)
        const { token } = await guestToken(slow.app)
        for (const email of ['zero@example.com', 'past@example.com']) {
          const lead = await submitLead(slow.app, token, slug, email)
          assert.equal(lead.statusCode, 200, lead.body)
        }
        const messages = await waitFor(async () => {
          const all = await webhookMessages(slow.app, slug, id)
          return all.length === 2 && all.every((m: any) => m.attempts >= 1 && m.last_error) && all
        }, 'both first attempts answered 503')
        assert.equal(r.got.length, 2, 'one attempt each: no retry at once')
        for (const m of messages) {
          const attempt = r.got.find((g) => g.id === m.message_id)!
          assert.equal(m.status, 'pending')
          assert.equal(m.attempts, 1)
          // The receiver saw the attempt before the worker read its answer and chose the delay.
          const wait = Date.parse(m.next_attempt_at) - attempt.at
          assert.ok(wait >= base * 0.75, `next attempt ${wait} ms after the first: at least the backoff`)
        }
      } finally {
        await r.close()
        await slow.close()
      }
    })

    it('rejects bad registrations', async () => {
      const slug = await createCampaign(ctx.app)
      const bad = await registerWebhook(ctx.app, slug, {
        url: 'ftp://example.com/x',
        events: ['lead.created'],
      })
      assert.equal(bad.statusCode, 400)
      const unknownEvent = await registerWebhook(ctx.app, slug, {
        url: 'http://127.0.0.1:9/x',
        events: ['lead.deleted'],
      })
      assert.equal(unknownEvent.statusCode, 400)
      const notAdmin = await registerWebhook(
        ctx.app,
        slug,
        { url: 'http://127.0.0.1:9/x', events: ['lead.created'] },
        { authorization: `Bearer ${guest.token}` },
      )
      assert.equal(notAdmin.statusCode, 403)
    })
  })

  describe(`webhook SSRF guard (${dialect})`, () => {
    let ctx: TestContext
    before(async () => {
      ctx = await buildTestApp({ dialect, env: { ...FAST, WEBHOOK_ALLOW_PRIVATE: 'false' } })
    })
    after(() => ctx.close())

    /** An endpoint to `url` for every event, written to the database past the registration guard. */
    async function plantWebhook(slug: string, id: string, url: string) {
      const box = createSecretBox(ctx.config.JWT_SECRET)
      await ctx.app.platform.database.db
        .insertInto('service_notification_webhook')
        .values({
          id,
          campaign_slug: slug,
          url,
          events: JSON.stringify(['*']),
          secret_sealed: box.seal('whsec_c2VjcmV0'),
          created_by: 'test',
        })
        .execute()
    }

    it('refuses private and loopback targets at registration', async () => {
      const slug = await createCampaign(ctx.app)
      for (const url of [
        'http://127.0.0.1:8080/x',
        'http://localhost/x',
        'http://10.1.2.3/x',
        'http://[::1]/x',
        'http://169.254.169.254/latest',
      ]) {
        const res = await registerWebhook(ctx.app, slug, { url, events: ['*'] })
        assert.equal(res.statusCode, 422, url)
        assert.equal(json(res).error.code, 'WEBHOOK_TARGET_PRIVATE', url)
      }
    })

    it('refuses to move an endpoint to a private target', async () => {
      const slug = await createCampaign(ctx.app)
      const id = 'wh_01HYYYYYYYYYYYYYYYYYYYYYYY'
      await plantWebhook(slug, id, 'https://crm.example.com/hook')
      const res = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/webhooks/${id}`,
        headers: adminHeaders,
        payload: { url: 'http://169.254.169.254/latest' },
      })
      assert.equal(res.statusCode, 422)
      assert.equal(json(res).error.code, 'WEBHOOK_TARGET_PRIVATE')
      const list = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks`,
        headers: adminHeaders,
      })
      assert.equal(json(list).webhooks[0].url, 'https://crm.example.com/hook', 'unchanged')
    })

    it('refuses them at send time too (the address is checked when delivering)', async () => {
      const slug = await createCampaign(ctx.app)
      const r = await receiver()
      try {
        await plantWebhook(slug, 'wh_01HZZZZZZZZZZZZZZZZZZZZZZZ', r.url)
        const guest = await guestToken(ctx.app)
        const res = await submitLead(ctx.app, guest.token, slug, 'ssrf@example.com')
        assert.equal(res.statusCode, 200)
        const row = await waitFor(
          () =>
            ctx.app.platform.database.db
              .selectFrom('service_notification_outbox')
              .select(['status', 'last_error'])
              .where('campaign_slug', '=', slug)
              .where('status', '=', 'failed')
              .executeTakeFirst(),
          'refused message',
        )
        assert.match(String(row.last_error), /private or loopback/)
        assert.equal(r.got.length, 0)
      } finally {
        await r.close()
      }
    })
  })
}

describe('retry timing', () => {
  it('reads Retry-After as delay-seconds or an HTTP-date, and nothing else', () => {
    const now = Date.parse('2025-06-04T12:00:00Z')
    assert.equal(parseRetryAfter('120', now), 120_000)
    assert.equal(parseRetryAfter(' 5 ', now), 5_000)
    assert.equal(parseRetryAfter('Wed, 04 Jun 2025 12:00:30 GMT', now), 30_000)
    assert.equal(parseRetryAfter('Wednesday, 04-Jun-25 12:01:00 GMT', now), 60_000)
    assert.equal(parseRetryAfter('Wed Jun  4 12:00:10 2025', now), 10_000)
    assert.equal(parseRetryAfter('Tue, 03 Jun 2025 12:00:00 GMT', now), 0, 'a date past is now')
    // What a lenient date parser reads as some day in 2001 (so: retry at once) is no value at all.
    for (const bad of ['1.5', '-5', '10 minutes', 'soon', 'abc 1', '2025-06-04', ''])
      assert.equal(parseRetryAfter(bad, now), undefined, JSON.stringify(bad))
  })

  it('lets Retry-After postpone a retry, never bring it before the backoff', () => {
    const mid = () => 0.5
    // Attempt 3 at a 10 s base: a 40 s backoff.
    assert.equal(retryDelayMs(3, 10_000, undefined, mid), 40_000)
    assert.equal(retryDelayMs(3, 10_000, 0, mid), 40_000, 'Retry-After: 0')
    const now = Date.parse('2025-06-04T12:00:00Z')
    const past = parseRetryAfter('Tue, 03 Jun 2025 12:00:00 GMT', now)
    assert.equal(retryDelayMs(3, 10_000, past, mid), 40_000, 'a date past')
    assert.equal(retryDelayMs(3, 10_000, 5_000, mid), 40_000, 'sooner than the backoff')
    assert.equal(retryDelayMs(3, 10_000, 120_000, mid), 120_000, 'later: honoured')
    assert.equal(retryDelayMs(1, 10_000, 7 * 24 * 3_600_000, mid), 24 * 3_600_000, 'at most a day')
    // Jitter never takes the first retry below three quarters of the base.
    assert.ok(retryDelayMs(1, 10_000, 0, () => 0) >= 7_500)
  })

  it('keeps retries at most 6 h apart, jitter included', () => {
    const sixHours = 6 * 60 * 60_000
    for (const attempt of [12, 20, 49]) {
      assert.ok(backoffMs(attempt, 10_000, () => 0.9999) <= sixHours, `attempt ${attempt}`)
      assert.ok(backoffMs(attempt, 10_000, () => 0) >= sixHours / 2, `attempt ${attempt}`)
    }
    assert.equal(
      backoffMs(1, 10_000, () => 0.5),
      10_000,
    )
  })
})

describe('isPrivateAddress', () => {
  it('classifies addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::',
    ])
      assert.equal(isPrivateAddress(a), true, a)
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
      assert.equal(isPrivateAddress(a), false, a)
  })
})
