// The console's webhooks screen shows each endpoint's circuit breaker as the API reports it:
// closed, open (paused after failures, until when), or half-open (probing). A half-open circuit
// read as "paused after failures" while its probe was out, and as nothing at all once the
// cooldown had ended, so an operator could not tell the breaker was already trying again.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { guestLead, receiver, registerWebhook } from '../webhook-fixtures.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, the webhook circuit breaker state', () => {
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' } })
  let crm: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    crm = await receiver()
  })
  after(() => crm?.close())
  const db = () => suite.server.app.platform.database.db
  const hold = (id: string, until: Date) =>
    db()
      .updateTable('service_notification_webhook')
      .set({ circuit_open_until: until })
      .where('id', '=', id)
      .execute()

  test('closed, open, half-open after the cooldown and half-open while the probe is out', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const hour = 3_600_000
    /** An endpoint of its own URL (`?as=`), to find it by on the screen. */
    const endpoint = async (as: string, events: string[]) => {
      const res = await registerWebhook(suite.server.app, slug, { url: `${crm.url}?as=${as}`, events })
      assert.equal(res.statusCode, 201, res.body)
      return json(res).id as string
    }
    await endpoint('closed', ['lead.created'])
    await hold(await endpoint('open', ['lead.created']), new Date(Date.now() + hour))
    // Nothing waits for it (no probe to claim, so none closes it): half-open until a message comes.
    await hold(await endpoint('cooled', ['lead.erased']), new Date(Date.now() - 1000))
    // The probe: the one message a sweep claimed for the endpoint, marked as the probe, which it
    // holds while it is out (as `claimDue` leaves them; no sweep claims it again here, its lease
    // being an hour long).
    const probing = await endpoint('probing', ['lead.created'])
    await hold(probing, new Date(Date.now() + hour))
    await guestLead(suite.server.app, slug, 'probe@example.com')
    await db()
      .updateTable('service_notification_outbox')
      .set({ status: 'sending', attempts: 1, lease_until: new Date(Date.now() + hour), probe: true })
      .where('webhook_id', '=', probing)
      .execute()
    const expected = { closed: 'closed', open: 'open', cooled: 'half-open', probing: 'half-open' }
    const listed = json(
      await suite.server.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks`,
        headers: adminHeaders,
      }),
    ).webhooks as Array<{ url: string; circuit: string }>
    assert.deepEqual(
      Object.fromEntries(listed.map((h) => [new URL(h.url).searchParams.get('as'), h.circuit])),
      expected,
    )

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    await page.locator('[data-testid="webhook-circuit"]').nth(3).waitFor()
    const panel = (as: string) =>
      page.locator('.panel').filter({ has: page.locator('strong', { hasText: `?as=${as}` }) })
    const seen: Record<string, string | null> = {}
    for (const as of Object.keys(expected)) {
      const badge = panel(as).locator('[data-testid="webhook-circuit"]')
      seen[as] = await badge.getAttribute('data-circuit')
      const text = (await badge.textContent())?.trim() ?? ''
      if (as === 'closed') assert.equal(text, 'circuit closed')
      else if (as === 'open') assert.match(text, /^circuit open: paused after failures until .+/)
      else assert.equal(text, 'circuit half-open: probing')
      // Enable (which closes the circuit) is offered wherever it is not closed.
      assert.equal(
        await panel(as).getByRole('button', { name: 'Enable' }).count(),
        as === 'closed' ? 0 : 1,
        as,
      )
    }
    assert.deepEqual(seen, expected)
    assert.deepEqual(problems, [])
  })
})
