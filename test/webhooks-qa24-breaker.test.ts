// QA 24 on CRM webhooks: the circuit breaker counts failures in a row. Messages sent at once to
// one endpoint (a lead burst, a worker's batch) all carry the endpoint as it was read before any
// of them was answered; a success among them must still reset the count, or a receiver failing
// now and then has its circuit opened by failures that were never consecutive.
import assert from 'node:assert/strict'
import type http from 'node:http'
import { describe, it } from 'node:test'
import { DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  firstEndpoint,
  guestLead,
  waitFor,
  webhookMessages,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook circuit breaker under concurrent sends (${dialect})`, () => {
    const suite = webhookApp(dialect, {
      ...FAST_WEBHOOKS,
      WEBHOOK_CIRCUIT_THRESHOLD: '3',
      // Held answers must not time out, and a failed message must not come back during the test.
      WEBHOOK_TIMEOUT_MS: '60000',
      WEBHOOK_RETRY_BASE_MS: '600000',
    })

    it('a success answered between failures resets the count, though its send began before them', async () => {
      // Every request waits on the wire until the test answers it.
      const waiting: http.ServerResponse[] = []
      const { r, slug, id } = await suite.endpoint((_n, _req, res) => {
        ;(res as any).held = true
        waiting.push(res)
      })

      for (let i = 0; i < 5; i++) await guestLead(suite.ctx.app, slug, `burst${i}@example.com`)
      // All five are in flight, each sent with the endpoint read when its lead committed (no failures).
      await waitFor(() => waiting.length === 5, 'five requests in flight')

      const answers = [500, 204, 500, 204, 500]
      for (const [n, status] of answers.entries()) {
        const messageId = r.got[n]!.id
        waiting[n]!.writeHead(status).end()
        // The attempt is settled: delivered, or back to pending for a retry.
        await waitFor(
          async () => {
            const m = (await webhookMessages(suite.ctx.app, slug, id)).find((x) => x.message_id === messageId)
            return m && (status === 204 ? m.status === 'delivered' : m.status === 'pending' && m.last_error)
          },
          `request ${n + 1} settled`,
        )
      }

      // Three failures, never two in a row: the last one alone counts, and the circuit stays closed.
      const hook = await firstEndpoint(suite.ctx.app, slug)
      assert.equal(hook.consecutive_failures, 1)
      assert.equal(hook.circuit, 'closed')
    })
  })
}
