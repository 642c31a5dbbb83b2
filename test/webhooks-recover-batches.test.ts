// `POST …/webhooks/{id}/recover` turns failed and cancelled messages back a bounded batch per
// statement (each its own commit, the worker woken as each lands) rather than in one statement over
// all of them: more messages than a batch are all recovered and each delivered once; a message
// erased between two batches, or an endpoint disabled by a 410 between two, is respected. Small
// batch sizes and the repository's per-batch hook make the interleavings deterministic.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  createDeliveryWorker,
  createSecretBox,
  createWebhookService,
} from '../src/modules/notification/index.js'
import {
  disableEndpoint,
  ERASED_PAYLOAD,
  RECOVER_BATCH,
  recover,
  scrubSubjects,
} from '../src/modules/notification/webhook.repo.js'
import type { OutboxStatus } from '../src/platform/db/tables.js'
import { adminHeaders, DIALECTS, json } from './helper.js'
import { someoneWaitsOnLock } from './pg-lock-fixtures.js'
import { FAST_WEBHOOKS, subscribedEndpoint, waitFor, webhookApp } from './webhook-fixtures.js'

const HOUR = 3_600_000

/** A delivery worker of the test's own, beside the app's (FAST_WEBHOOKS' timings). */
const WORKER_OPTIONS = {
  pollMs: 20,
  timeoutMs: 3000,
  retryBaseMs: 50,
  maxAttempts: 5,
  circuitThreshold: 100,
  circuitCooldownMs: 1000,
  allowPrivate: true,
}

for (const dialect of DIALECTS) {
  describe(`recovering an endpoint's messages in batches (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST_WEBHOOKS)
    const { servers } = suite
    const db = () => suite.ctx.app.platform.database.db

    /** Messages an outage left behind, as the worker settles them; one subject each (`lead_<name>`). */
    async function seed(
      slug: string,
      webhookId: string,
      names: string[],
      status: OutboxStatus = 'failed',
      createdAt = new Date(),
    ) {
      if (names.length === 0) return
      await db()
        .insertInto('service_notification_outbox')
        .values(
          names.map((name) => ({
            message_id: `msg_${name}`,
            webhook_id: webhookId,
            campaign_slug: slug,
            event: 'lead.created',
            subject_id: `lead_${name}`,
            payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_${name}` } } }),
            status,
            attempts: 5,
            last_error: 'HTTP 503',
            created_at: createdAt,
          })),
        )
        .execute()
    }

    const rows = (webhookId: string) =>
      db()
        .selectFrom('service_notification_outbox')
        .select(['message_id', 'status', 'attempts', 'payload'])
        .where('webhook_id', '=', webhookId)
        .orderBy('id')
        .execute()

    /** Keeps the app's worker off the endpoint (its circuit open), so the rows stay as recovery left them. */
    const holdWorkerOff = (webhookId: string) =>
      db()
        .updateTable('service_notification_webhook')
        .set({ circuit_open_until: new Date(Date.now() + HOUR) })
        .where('id', '=', webhookId)
        .execute()

    it('recovers more messages than one batch, waking the worker per batch, and each is delivered once', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      const names = Array.from({ length: 25 }, (_, i) => `many_${slug}_${i}`)
      await seed(slug, id, names.slice(0, 20), 'failed')
      await seed(slug, id, names.slice(20), 'cancelled')
      // Not to recover: delivered, older than `since`, and about a person erased.
      await seed(slug, id, [`done_${slug}`], 'delivered')
      await seed(slug, id, [`old_${slug}`], 'failed', new Date(Date.now() - 2 * HOUR))
      await seed(slug, id, [`gone_${slug}`], 'failed')
      await scrubSubjects(db(), [`lead_gone_${slug}`])

      const box = createSecretBox(suite.ctx.config.JWT_SECRET)
      const worker = createDeliveryWorker({ db: db(), box }, WORKER_OPTIONS)
      let nudges = 0
      const service = createWebhookService({
        db: db(),
        box,
        allowPrivate: true,
        recoverBatchSize: 10,
        worker: {
          leaseMs: worker.leaseMs,
          handoff: (rows) => worker.handoff(rows),
          forget: (ids) => worker.forget(ids),
          requeue: (ids) => worker.requeue(ids),
          nudge: (options) => {
            nudges++
            worker.nudge(options)
          },
        },
      })
      worker.start()
      try {
        const recovered = await service.recover(slug, id, new Date(Date.now() - HOUR))
        assert.equal(recovered, 25)
        assert.equal(nudges, 3, 'the worker is woken once per batch: 10, 10 and 5 messages')

        const expected = names.map((n) => `msg_${n}`).sort()
        await waitFor(() => r.got.length >= names.length, 'every recovered message at the receiver')
        const settled = await waitFor(async () => {
          const all = (await rows(id)).filter((m) => expected.includes(m.message_id))
          return all.every((m) => m.status === 'delivered') && all
        }, 'every recovered message settled')
        assert.deepEqual(
          settled.map((m) => m.attempts),
          names.map(() => 1),
          'a fresh retry budget, one attempt each',
        )
        assert.deepEqual(r.got.map((g) => g.id).sort(), expected, 'each sent once, nothing else')
        assert.ok(r.got.every((g) => g.verified))
        const left = Object.fromEntries((await rows(id)).map((m) => [m.message_id, m.status]))
        assert.equal(left[`msg_done_${slug}`], 'delivered')
        assert.equal(left[`msg_old_${slug}`], 'failed', 'older than since')
        assert.equal(left[`msg_gone_${slug}`], 'failed', 'erased')
      } finally {
        await worker.stop()
      }
    })

    it('answers 202 {recovered} with every message past the first batch counted', async () => {
      const { slug, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await holdWorkerOff(id)
      const names = Array.from({ length: RECOVER_BATCH + 5 }, (_, i) => `big_${slug}_${i}`)
      for (let i = 0; i < names.length; i += 500) await seed(slug, id, names.slice(i, i + 500))
      const res = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/webhooks/${id}/recover`,
        headers: adminHeaders,
        payload: { since: new Date(Date.now() - HOUR).toISOString() },
      })
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual(json(res), { recovered: names.length })
      const states = await rows(id)
      assert.equal(states.length, names.length)
      assert.ok(
        states.every((m) => m.status === 'pending' && m.attempts === 0),
        'every one pending again',
      )
    })

    it('leaves out a message erased between two batches: it is never sent', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      const names = Array.from({ length: 6 }, (_, i) => `erase_${slug}_${i}`)
      await seed(slug, id, names)
      // Batches of two; the person of the fifth message is erased once the first batch is in.
      const erased = names[4]!
      let batches = 0
      const recovered = await recover(db(), id, new Date(Date.now() - HOUR), {
        batchSize: 2,
        onBatch: async () => {
          if (++batches === 1) await scrubSubjects(db(), [`lead_${erased}`])
        },
      })
      assert.equal(recovered, 5)
      assert.equal(batches, 3)

      const sent = names.filter((n) => n !== erased).map((n) => `msg_${n}`)
      await waitFor(async () => {
        const all = (await rows(id)).filter((m) => sent.includes(m.message_id))
        return all.length === sent.length && all.every((m) => m.status === 'delivered')
      }, 'the other five, delivered by the app’s worker')
      assert.deepEqual(r.got.map((g) => g.id).sort(), [...sent].sort(), 'the erased one was never sent')
      const gone = (await rows(id)).find((m) => m.message_id === `msg_${erased}`)!
      assert.equal(gone.status, 'failed', 'left as it was')
      assert.deepEqual(gone.payload, JSON.parse(ERASED_PAYLOAD))
    })

    it('leaves out a message whose erasure held its row while the batch waited for it (PostgreSQL)', {
      skip: dialect !== 'postgres' && 'one connection on PGlite: nothing runs beside a statement',
    }, async () => {
      const { slug, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await holdWorkerOff(id)
      const names = Array.from({ length: 4 }, (_, i) => `held_${slug}_${i}`)
      await seed(slug, id, names)
      // An erasure in progress: its transaction has scrubbed the third message and not committed.
      let commit!: () => void
      const committed = new Promise<void>((resolve) => {
        commit = resolve
      })
      let scrubbed!: () => void
      const holding = new Promise<void>((resolve) => {
        scrubbed = resolve
      })
      const erasure = db()
        .transaction()
        .execute(async (trx) => {
          await scrubSubjects(trx, [`lead_${names[2]}`])
          scrubbed()
          await committed
        })
      await holding
      const recovery = recover(db(), id, new Date(Date.now() - HOUR))
      await someoneWaitsOnLock(db(), 'the recovery waiting for the erased row')
      commit()
      await erasure
      assert.equal(await recovery, 3)
      const states = Object.fromEntries((await rows(id)).map((m) => [m.message_id, m.status]))
      assert.deepEqual(
        names.map((n) => states[`msg_${n}`]),
        ['pending', 'pending', 'failed', 'pending'],
        'the erased one, checked again once its lock was free, stays out',
      )
    })

    it('stops when a 410 disabled the endpoint between two batches, leaving nothing pending', async () => {
      const { slug, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await holdWorkerOff(id)
      const names = Array.from({ length: 6 }, (_, i) => `off_${slug}_${i}`)
      await seed(slug, id, names)
      let batches = 0
      const recovered = await recover(db(), id, new Date(Date.now() - HOUR), {
        batchSize: 2,
        onBatch: async () => {
          if (++batches === 1) await disableEndpoint(db(), id, 'receiver answered 410 Gone')
        },
      })
      assert.equal(recovered, 2, 'the first batch only')
      assert.equal(batches, 1)
      const states = await rows(id)
      assert.deepEqual(
        states.map((m) => m.status),
        ['cancelled', 'cancelled', 'failed', 'failed', 'failed', 'failed'],
        'the 410 cancelled the first batch; the rest were never turned back',
      )
    })
  })
}
