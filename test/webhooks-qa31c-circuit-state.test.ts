// QA pass 31c on CRM webhooks: the list told a half-open circuit as `open` while its probe was
// out (the probe holds the endpoint by moving `circuit_open_until` on), and as `closed` once the
// cooldown had ended and no probe had gone yet. It says `half-open` for both now: `closed`, `open`
// and `half-open` are the breaker's real states, as `claimDue` acts on them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, DIALECTS, json } from './helper.js'
import {
  FAST_WEBHOOKS,
  firstEndpoint,
  openedEndpoint,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook list: the circuit's real state (${dialect})`, () => {
    const suite = webhookApp(dialect, {
      ...FAST_WEBHOOKS,
      WEBHOOK_CIRCUIT_THRESHOLD: '1',
      // Cooled down by the test (below), never by the clock.
      WEBHOOK_CIRCUIT_COOLDOWN_MS: '3600000',
    })

    it('open, then half-open (cooled down, and while its probe is out), then open again', async () => {
      const { r, slug, id, held, coolDown } = await openedEndpoint(suite, 1)
      // The cooldown ends (as the clock would end it) and the refused message's retry is due.
      await coolDown()
      // Before the sweep sends the probe, or after: half-open either way.
      assert.equal((await firstEndpoint(suite.ctx.app, slug)).circuit, 'half-open')

      await waitFor(() => held.length >= 1, 'the probe on the wire')
      const probing = await firstEndpoint(suite.ctx.app, slug)
      assert.equal(probing.circuit, 'half-open')
      assert.ok(Date.parse(probing.circuit_open_until) > Date.now(), 'the probe holds the endpoint')
      // A change answered while the probe is out says so too.
      const patched = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/webhooks/${id}`,
        headers: adminHeaders,
        payload: { description: 'CRM' },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(json(patched).circuit, 'half-open')

      const probe = r.got[1]!.id
      held.shift()!.writeHead(503).end()
      await waitFor(async () => {
        const m = (await webhookMessages(suite.ctx.app, slug, id)).find((x) => x.message_id === probe)
        return m?.status === 'pending' && m.last_error === 'HTTP 503'
      }, 'the probe settled as failed')
      assert.equal((await firstEndpoint(suite.ctx.app, slug)).circuit, 'open')
    })
  })
}
