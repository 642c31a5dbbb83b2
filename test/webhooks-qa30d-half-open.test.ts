// QA pass 30d on CRM webhooks: when an endpoint's circuit breaker cooled down, every message that
// had waited for it was claimed and sent at once, to a receiver that had just been failing: a
// burst of retries that could knock it over again. The breaker is half-open now: one message goes
// first, as a probe; the others wait until it succeeds, and a failed probe opens the circuit again.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS } from './helper.js'
import {
  FAST_WEBHOOKS,
  firstEndpoint,
  openedEndpoint,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook circuit half-open: one probe first (${dialect})`, () => {
    const suite = webhookApp(dialect, {
      ...FAST_WEBHOOKS,
      WEBHOOK_CIRCUIT_THRESHOLD: '1',
      // Cooled down by the test (below), never by the clock.
      WEBHOOK_CIRCUIT_COOLDOWN_MS: '3600000',
    })

    it('sends one probe, and the rest only once it succeeded', async () => {
      const e = await openedEndpoint(suite, 4)
      await e.coolDown()
      await waitFor(() => e.held.length >= 1, 'the probe on the wire')
      assert.equal(await e.sending(), 1, 'one message claimed while the probe is out')
      assert.equal(e.held.length, 1)

      e.held.shift()!.writeHead(204).end()
      // The circuit closed: the four others go, answered as they come.
      await waitFor(async () => {
        for (const res of e.held.splice(0)) res.writeHead(204).end()
        const all = await webhookMessages(suite.ctx.app, e.slug, e.id)
        return all.length === 5 && all.every((m) => m.status === 'delivered')
      }, 'every message delivered after the probe')
      const hook = await firstEndpoint(suite.ctx.app, e.slug)
      assert.equal(hook.circuit, 'closed')
      assert.equal(hook.consecutive_failures, 0)
      assert.equal(hook.circuit_open_until, null)
    })

    it('a failed probe opens the circuit again and sends nothing more', async () => {
      const e = await openedEndpoint(suite, 3)
      await e.coolDown()
      await waitFor(() => e.held.length >= 1, 'the probe on the wire')
      assert.equal(await e.sending(), 1)
      const probe = e.r.got[1]!.id
      e.held.shift()!.writeHead(503).end()
      await waitFor(async () => {
        const m = (await webhookMessages(suite.ctx.app, e.slug, e.id)).find((x) => x.message_id === probe)
        return m?.status === 'pending' && m.last_error === 'HTTP 503'
      }, 'the probe settled as failed')
      const hook = await firstEndpoint(suite.ctx.app, e.slug)
      assert.equal(hook.circuit, 'open')
      assert.ok(Date.parse(hook.circuit_open_until) > Date.now() + 30 * 60_000, hook.circuit_open_until)
      assert.equal(await e.sending(), 0)
      assert.equal(e.r.got.length, 2, 'the first request and the probe, nothing else')
      const statuses = (await webhookMessages(suite.ctx.app, e.slug, e.id)).map((m) => m.status)
      assert.deepEqual(statuses, ['pending', 'pending', 'pending', 'pending'])
    })
  })
}
