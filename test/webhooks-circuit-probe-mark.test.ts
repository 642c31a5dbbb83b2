// CRM webhooks: the list told an open circuit as `half-open` while a send that was already in
// flight when it opened was still out, though no probe had gone: the state took any message out
// for the probe. The probe's row is marked now (`probe`, migration 040), and only it counts.
// And a sweep held a cooled-down endpoint for its probe even when the probe's row was locked by
// another statement (and so skipped): `open`, no probe out, until the hold ended (CI, stop 41).
import assert from 'node:assert/strict'
import type http from 'node:http'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { claimDue } from '../src/modules/notification/webhook.repo.js'
import { DIALECTS } from './helper.js'
import {
  coolDown,
  FAST_WEBHOOKS,
  firstEndpoint,
  guestLead,
  openedEndpoint,
  waitFor,
  webhookApp,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook circuit: a send in flight is no probe (${dialect})`, () => {
    const suite = webhookApp(dialect, {
      ...FAST_WEBHOOKS,
      WEBHOOK_CIRCUIT_THRESHOLD: '1',
      // Cooled down by the test (below), never by the clock.
      WEBHOOK_CIRCUIT_COOLDOWN_MS: '3600000',
    })
    const db = () => suite.app.platform.database.db
    const probes = (id: string) =>
      db()
        .selectFrom('service_notification_outbox')
        .select(['message_id', 'status'])
        .where('webhook_id', '=', id)
        .where('probe', '=', true)
        .orderBy('id')
        .execute()

    it('open while an older send is out, half-open for the marked probe, closed by its success', async () => {
      // The first request is held on the wire; the second fails and opens the circuit; every
      // later one (the probe) is held until the test answers it.
      const held: http.ServerResponse[] = []
      const { r, slug, id } = await suite.endpoint((n, _req, res) => {
        if (n === 2) return void res.writeHead(500).end()
        ;(res as any).held = true
        held.push(res)
      })
      try {
        await guestLead(suite.app, slug, 'inflight@example.com')
        await waitFor(() => held.length >= 1, 'the first send on the wire')
        await guestLead(suite.app, slug, 'failing@example.com')
        await waitFor(
          async () => (await firstEndpoint(suite.app, slug)).circuit_open_until !== null,
          'circuit opened',
        )
        const opened = await firstEndpoint(suite.app, slug)
        assert.equal(opened.circuit, 'open', 'the send in flight since before is no probe')
        assert.ok(Date.parse(opened.circuit_open_until) > Date.now() + 30 * 60_000, opened.circuit_open_until)
        assert.equal(held.length, 1, 'the first send is still out')
        assert.equal(r.got.length, 2, 'no probe sent')
        assert.deepEqual(await probes(id), [])

        await coolDown(suite.app, id)
        // Cooled down, the probe not sent yet or out: half-open either way.
        assert.equal((await firstEndpoint(suite.app, slug)).circuit, 'half-open')
        await waitFor(() => held.length >= 2, 'the probe on the wire')
        const probing = await firstEndpoint(suite.app, slug)
        assert.equal(probing.circuit, 'half-open')
        assert.ok(Date.parse(probing.circuit_open_until) > Date.now(), 'the probe holds the endpoint')
        assert.deepEqual(await probes(id), [{ message_id: r.got[2]!.id, status: 'sending' }])

        held[1]!.writeHead(204).end()
        await waitFor(
          async () => (await firstEndpoint(suite.app, slug)).circuit === 'closed',
          'circuit closed',
        )
        const closed = await firstEndpoint(suite.app, slug)
        assert.equal(closed.consecutive_failures, 0)
        assert.equal(closed.circuit_open_until, null)
      } finally {
        for (const res of held.splice(0)) if (!res.headersSent) res.writeHead(204).end()
      }
    })

    // Another connection holds the row's lock: PostgreSQL only (PGlite has one connection).
    it('not held while its only waiting row is locked elsewhere; probed once the lock goes', {
      skip: dialect === 'pglite',
    }, async () => {
      const { slug, id, held } = await openedEndpoint(suite, 0)
      // Made due at once, once settled (the circuit may open a moment before the row settles).
      const row = await waitFor(
        () =>
          db()
            .updateTable('service_notification_outbox')
            .set({ next_attempt_at: new Date(Date.now() - 1000) })
            .where('webhook_id', '=', id)
            .where('status', '=', 'pending')
            .returning('id')
            .executeTakeFirst(),
        'the refused row waiting',
      )
      try {
        await db()
          .transaction()
          .execute(async (trx) => {
            await sql`select id from service_notification_outbox where id = ${row.id} for update`.execute(trx)
            // The cooldown ends while the row is locked: every sweep meanwhile (the worker's, and
            // this one) skips the row, and so must leave the endpoint as it is.
            await db()
              .updateTable('service_notification_webhook')
              .set({ circuit_open_until: new Date(Date.now() - 1000) })
              .where('id', '=', id)
              .execute()
            const claimed = await claimDue(db(), 50, 60_000, {
              sweep: true,
              upTo: Number(row.id),
              probeMs: 60_000,
            })
            assert.deepEqual(claimed, [])
            const endpoint = await firstEndpoint(suite.app, slug)
            assert.equal(endpoint.circuit, 'half-open', 'no hold without a probe')
            assert.ok(Date.parse(endpoint.circuit_open_until) < Date.now(), endpoint.circuit_open_until)
            assert.equal(held.length, 0)
          })
        await waitFor(() => held.length >= 1, 'the probe on the wire once the lock went')
        assert.equal((await firstEndpoint(suite.app, slug)).circuit, 'half-open')
      } finally {
        for (const res of held.splice(0)) if (!res.headersSent) res.writeHead(204).end()
      }
    })
  })
}
