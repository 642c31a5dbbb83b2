// QA 24 on CRM webhooks: a receiver that answers 429 (or 503) with Retry-After is saying when it
// wants to hear from us again, not only about the message it refused: the endpoint's circuit
// opens until then (capped at 24 h), at once, without waiting for the failure threshold, so the
// next events wait without spending attempts; `enable` sends them at once.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  firstEndpoint,
  guestLead,
  waitFor,
  webhookMessages,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook receiver asking to wait (${dialect})`, () => {
    // FAST_WEBHOOKS' breaker never trips (threshold 100): only Retry-After can open the circuit.
    const suite = webhookApp(dialect, FAST_WEBHOOKS)

    async function throttledEndpoint(status: number, retryAfter: string) {
      const { r, slug, id } = await suite.endpoint((n, _req, res) => {
        if (n === 1) res.writeHead(status, { 'retry-after': retryAfter }).end()
      })
      const endpoint = () => firstEndpoint(suite.ctx.app, slug)
      const lead = (email: string) => guestLead(suite.ctx.app, slug, email)
      return { r, slug, id, endpoint, lead }
    }

    for (const [status, retryAfter] of [
      [429, '3600'],
      [503, new Date(Date.now() + 2 * 3600_000).toUTCString()],
    ] as const) {
      it(`${status} with Retry-After ${retryAfter}: the endpoint waits until then; enable sends what waits`, async () => {
        const { r, slug, id, endpoint, lead } = await throttledEndpoint(status, retryAfter)
        await lead('first@example.com')
        const first = await waitFor(async () => {
          const m = (await webhookMessages(suite.ctx.app, slug, id))[0]
          return m?.status === 'pending' && m.last_error && m
        }, 'the refused message back to pending')
        assert.equal(first.last_error, `HTTP ${status}`)

        const hook = await endpoint()
        assert.equal(hook.circuit, 'open')
        assert.equal(hook.consecutive_failures, 1)
        // Until the time the receiver named (an hour or two away), not the breaker's cooldown (60 s).
        assert.ok(Date.parse(hook.circuit_open_until) > Date.now() + 30 * 60_000, hook.circuit_open_until)

        // The next event is written waiting, not sent: no attempt spent on a receiver that asked for quiet.
        await lead('second@example.com')
        const second = (await webhookMessages(suite.ctx.app, slug, id))[0]
        assert.notEqual(second.message_id, first.message_id)
        assert.equal(second.status, 'pending')
        assert.equal(second.attempts, 0)
        assert.equal(r.got.length, 1)

        // The admin knows better: enable closes the circuit and both go now.
        const enabled = await suite.ctx.app.inject({
          method: 'POST',
          url: `/api/campaign/${slug}/webhooks/${id}/enable`,
          headers: adminHeaders,
        })
        assert.equal(enabled.statusCode, 200, enabled.body)
        await waitFor(async () => {
          const all = await webhookMessages(suite.ctx.app, slug, id)
          return all.length === 2 && all.every((m) => m.status === 'delivered')
        }, 'both messages delivered after enable')
        assert.deepEqual(
          new Set(r.got.slice(1).map((g) => g.id)),
          new Set([first.message_id, second.message_id]),
        )
      })
    }

    it('Retry-After: 0 on a 429 opens nothing (the message keeps its own backoff)', async () => {
      const { slug, id, endpoint, lead } = await throttledEndpoint(429, '0')
      await lead('zero@example.com')
      await waitFor(
        async () => (await webhookMessages(suite.ctx.app, slug, id))[0]?.status === 'delivered',
        'delivered',
      )
      const hook = await endpoint()
      assert.equal(hook.circuit, 'closed')
      assert.equal(hook.circuit_open_until, null)
    })
  })
}
