// QA pass 30d on CRM webhooks: a 410 Gone disabled the endpoint and cancelled what the worker of
// the node that saw it held for it, but the other nodes were not told. Their workers kept the rows
// they had queued in memory (a lead burst committed through them), each with the endpoint as read
// at its commit, still enabled, and sent them to a receiver that had asked to hear nothing more.
// The 410 is now announced on the workers' channel, as endpoint changes are, and every worker
// cancels what it queues for that endpoint.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMemoryBus } from '../src/platform/bus/memory.js'
import {
  createDeliveryWorker,
  createSecretBox,
  followWorkerNotices,
} from '../src/modules/notification/index.js'
import { WORKER_CHANNEL } from '../src/modules/notification/worker-channel.js'
import { createCampaign, DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  guestLead,
  handedRows,
  receiver,
  subscribe,
  waitFor,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`a 410 Gone reaches every node's webhook worker (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST_WEBHOOKS)
    const { servers } = suite
    const db = () => suite.ctx.app.platform.database.db

    const options = {
      pollMs: 60_000,
      timeoutMs: 10_000,
      retryBaseMs: 60_000,
      maxAttempts: 5,
      circuitThreshold: 100,
      circuitCooldownMs: 60_000,
      allowPrivate: true,
      // Two sends at once per endpoint: the rest of what is handed waits in the worker's queue.
      batchSize: 1,
    }

    const statusOf = async (id: number) =>
      (
        await db()
          .selectFrom('service_notification_outbox')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).status

    it('the other nodes cancel what they queue for the endpoint instead of sending it', async () => {
      // Node A's messages are answered 410 at once; node B's wait on the wire until released.
      const waiting: Array<() => void> = []
      const r = await receiver((n, _req, res) => {
        const lead = String(r.got[n - 1]!.body.data.lead.id)
        if (lead.startsWith('lead_a')) {
          res.writeHead(410).end()
          return
        }
        ;(res as any).held = true
        waiting.push(() => res.writeHead(204).end())
      })
      servers.push(r)
      const slug = await createCampaign(suite.ctx.app)
      const { id } = await subscribe(suite.ctx.app, slug, r)

      // One bus between two nodes' workers, each following the other's notices.
      const bus = createMemoryBus()
      const box = createSecretBox(suite.ctx.config.JWT_SECRET)
      const errors: unknown[] = []
      const onError = (err: unknown) => errors.push(err)
      const nodeA = createDeliveryWorker({ db: db(), box, bus, onError }, options)
      const nodeB = createDeliveryWorker({ db: db(), box, bus, onError }, options)
      const unfollow = [await followWorkerNotices(bus, nodeA), await followWorkerNotices(bus, nodeB)]
      nodeA.start()
      nodeB.start()
      try {
        const tag = `${dialect}_${Date.now()}`
        const onB = await handedRows(
          suite.ctx.app,
          slug,
          id,
          [1, 2, 3, 4].map((n) => `b${n}_${tag}`),
          true,
        )
        nodeB.handoff(onB)
        await waitFor(() => waiting.length === 2, "node B's first two sends on the wire")

        const [onA] = await handedRows(suite.ctx.app, slug, id, [`a1_${tag}`], true)
        nodeA.handoff([onA!])
        await waitFor(async () => (await statusOf(onA!.id)) === 'failed', "node A's 410 settled")
        const endpoint = await db()
          .selectFrom('service_notification_webhook')
          .select(['enabled', 'disabled_reason'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
        assert.deepEqual(endpoint, { enabled: false, disabled_reason: 'receiver answered 410 Gone' })

        // B's sends on the wire end; what B still queued must not follow them.
        for (const answer of waiting.splice(0)) answer()
        const settled = await waitFor(async () => {
          const statuses = await Promise.all(onB.map((row) => statusOf(row.id)))
          return statuses.every((s) => s !== 'sending') && statuses
        }, "node B's rows settled")
        assert.deepEqual(settled, ['delivered', 'delivered', 'cancelled', 'cancelled'])
        const sent = r.got.map((g) => g.body.data.lead.id)
        assert.deepEqual(sent.sort(), [`lead_a1_${tag}`, `lead_b1_${tag}`, `lead_b2_${tag}`].sort())
        assert.deepEqual(errors, [])
      } finally {
        for (const answer of waiting.splice(0)) answer()
        await Promise.all([nodeA.stop(), nodeB.stop()])
        for (const stop of unfollow) await stop()
      }
    })

    it("the app's worker announces the 410 on the workers' channel", async () => {
      const { slug, id } = await suite.endpoint((_n, _req, res) => {
        res.writeHead(410).end()
      })
      const notices: unknown[] = []
      const stop = await suite.ctx.app.platform.bus.subscribe(WORKER_CHANNEL, (m) => notices.push(m))
      try {
        await guestLead(suite.ctx.app, slug, 'gone@example.com')
        await waitFor(
          () => notices.some((n) => JSON.stringify(n) === JSON.stringify({ gone: [id] })),
          'the gone notice',
        )
      } finally {
        await stop()
      }
    })
  })
}
