// QA 29a on CRM webhooks: an endpoint deleted while one of its messages is on the wire. The delete
// takes the message's outbox row with it (`on delete cascade`); the attempt's settlement must then
// log nothing for it, and above all must not fail: the worker settles the attempts that finish
// together in one statement, so one row gone would throw away the outcomes of the others (delivered
// messages put back to `pending` and sent a second time).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createDeliveryWorker, createSecretBox } from '../src/modules/notification/index.js'
import { settleMany } from '../src/modules/notification/webhook.repo.js'
import { adminHeaders, DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  heldAnswers,
  receiver,
  subscribedEndpoint,
  waitFor,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook endpoint deleted during a send (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST_WEBHOOKS)
    const { servers } = suite
    const db = () => suite.ctx.app.platform.database.db

    /** A row as a claim leaves it: `sending`, first attempt leased (no worker of the app takes it). */
    async function claimedRow(slug: string, webhookId: string, name: string) {
      const row = await db()
        .insertInto('service_notification_outbox')
        .values({
          message_id: `msg_${name}`,
          webhook_id: webhookId,
          campaign_slug: slug,
          event: 'lead.created',
          subject_id: null,
          payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_${name}` } } }),
          status: 'sending',
          attempts: 1,
          lease_until: new Date(Date.now() + 60_000),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return Number(row.id)
    }

    const deleteEndpoint = async (slug: string, id: string) => {
      const res = await suite.ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/webhooks/${id}`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 204, res.body)
    }

    it('settles the other attempts of a batch when one row went with its deleted endpoint', async () => {
      const gone = await subscribedEndpoint(suite.ctx.app, servers)
      const kept = await subscribedEndpoint(suite.ctx.app, servers)
      const goneRow = await claimedRow(gone.slug, gone.id, `gone_${dialect}`)
      const keptRow = await claimedRow(kept.slug, kept.id, `kept_${dialect}`)
      // Fenced off (cancelled by an erasure while on the wire): not settled, but still logged.
      const fencedRow = await claimedRow(kept.slug, kept.id, `fenced_${dialect}`)
      await db()
        .updateTable('service_notification_outbox')
        .set({ status: 'cancelled' })
        .where('id', '=', fencedRow)
        .execute()
      await deleteEndpoint(gone.slug, gone.id)

      const log = { status_code: 204, error: null, duration_ms: 3 }
      await settleMany(db(), [
        { id: goneRow, webhook_id: gone.id, attempt: 1, outcome: { status: 'delivered' }, log },
        { id: keptRow, webhook_id: kept.id, attempt: 1, outcome: { status: 'delivered' }, log },
        { id: fencedRow, webhook_id: kept.id, attempt: 1, outcome: { status: 'delivered' }, log },
      ])

      const row = await db()
        .selectFrom('service_notification_outbox')
        .select(['status', 'attempts'])
        .where('id', '=', keptRow)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { status: 'delivered', attempts: 1 })
      const lines = await db()
        .selectFrom('service_notification_delivery')
        .select(['outbox_id', 'status_code'])
        .where('webhook_id', 'in', [gone.id, kept.id])
        .orderBy('outbox_id')
        .execute()
      assert.deepEqual(
        lines.map((l) => [Number(l.outbox_id), l.status_code]),
        [
          [keptRow, 204],
          [fencedRow, 204],
        ],
      )
      const fenced = await db()
        .selectFrom('service_notification_outbox')
        .select('status')
        .where('id', '=', fencedRow)
        .executeTakeFirstOrThrow()
      assert.equal(fenced.status, 'cancelled')
    })

    it('a send whose endpoint is deleted meanwhile ends without an error', async () => {
      const held = heldAnswers()
      const r = await receiver(held.respond)
      servers.push(r)
      const { slug, id } = await subscribedEndpoint(suite.ctx.app, servers)
      // Point the endpoint at the holding receiver (no worker has anything queued for it yet).
      await db()
        .updateTable('service_notification_webhook')
        .set({ url: r.url })
        .where('id', '=', id)
        .execute()
      const endpoint = await db()
        .selectFrom('service_notification_webhook')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      const rowId = await claimedRow(slug, id, `mid_${dialect}`)

      const errors: unknown[] = []
      const worker = createDeliveryWorker(
        { db: db(), box: createSecretBox(suite.ctx.config.JWT_SECRET), onError: (err) => errors.push(err) },
        {
          pollMs: 60_000,
          timeoutMs: 3000,
          retryBaseMs: 50,
          maxAttempts: 5,
          circuitThreshold: 100,
          circuitCooldownMs: 1000,
          allowPrivate: true,
        },
      )
      // Started, or it would give the row back for the app's worker to send.
      worker.start()
      worker.handoff([
        {
          id: rowId,
          message_id: `msg_mid_${dialect}`,
          webhook_id: id,
          campaign_slug: slug,
          event: 'lead.created',
          body: JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_mid_${dialect}` } } }),
          attempts: 1,
          subject_id: null,
          endpoint,
        },
      ])
      await waitFor(() => r.got[0], 'the send, held by the receiver')
      await deleteEndpoint(slug, id)
      held.release()
      // stop() waits for the send in flight and its settlement.
      await worker.stop()
      assert.deepEqual(errors.map(String), [])
      const left = await db()
        .selectFrom('service_notification_delivery')
        .select('id')
        .where('webhook_id', '=', id)
        .execute()
      assert.equal(left.length, 0, 'nothing is logged for a deleted endpoint')
    })
  })
}
