// QA 29a on CRM webhooks: one slow endpoint must not hold up every other one. The node that commits a
// lead sends its messages from a queue with a bounded number of sends at once; a receiver that takes
// its time (a CRM answering in seconds under a burst, never failing, so no breaker opens) used to
// take every one of those slots, and a second campaign's CRM waited behind it, its messages held
// until the slow sends ended, or past their lease and left to a later sweep. Each endpoint now has
// at most part of the slots, and endpoints take turns.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createDeliveryWorker, createSecretBox } from '../src/modules/notification/index.js'
import { DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  handedRows,
  heldAnswers,
  receiver,
  subscribedEndpoint,
  waitFor,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook sends of a slow endpoint beside another (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST_WEBHOOKS)
    const { servers } = suite
    const db = () => suite.ctx.app.platform.database.db

    it("a second endpoint's message goes out while the first one's sends are all still waiting", async () => {
      const held = heldAnswers()
      const slowReceiver = await receiver(held.respond)
      servers.push(slowReceiver)
      const slow = await subscribedEndpoint(suite.ctx.app, servers)
      await db()
        .updateTable('service_notification_webhook')
        .set({ url: slowReceiver.url })
        .where('id', '=', slow.id)
        .execute()
      const other = await subscribedEndpoint(suite.ctx.app, servers)

      // batchSize 5: at most 10 sends at once from the hand-off queue.
      const worker = createDeliveryWorker(
        { db: db(), box: createSecretBox(suite.ctx.config.JWT_SECRET) },
        {
          pollMs: 60_000,
          // The held sends must not time out while the test waits.
          timeoutMs: 60_000,
          retryBaseMs: 60_000,
          maxAttempts: 5,
          circuitThreshold: 100,
          circuitCooldownMs: 1000,
          allowPrivate: true,
          batchSize: 5,
        },
      )
      worker.start()
      try {
        const names = Array.from({ length: 12 }, (_, i) => `slow_${dialect}_${i}`)
        worker.handoff(await handedRows(suite.ctx.app, slow.slug, slow.id, names))
        await waitFor(() => slowReceiver.got.length >= 5, 'the slow endpoint to be busy')
        worker.handoff(await handedRows(suite.ctx.app, other.slug, other.id, [`other_${dialect}`]))

        const got = await waitFor(() => other.r.got[0], "the other endpoint's message")
        assert.equal(got.id, `msg_other_${dialect}`)
        assert.ok(slowReceiver.got.length < names.length, 'the slow endpoint did not take every slot')
      } finally {
        held.release()
        await worker.stop()
      }
      // Nothing was lost: once answered, the slow endpoint's messages all went (those still queued
      // at the stop given back, for the app's worker).
      await waitFor(async () => {
        const left = await db()
          .selectFrom('service_notification_outbox')
          .select('id')
          .where('webhook_id', '=', slow.id)
          .where('status', '<>', 'delivered')
          .execute()
        return left.length === 0
      }, 'every slow message delivered')
    })
  })
}
