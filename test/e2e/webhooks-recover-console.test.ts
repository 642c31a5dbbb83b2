// The admin console's "Recover messages" on a webhook endpoint, in Chromium: refused while the
// endpoint is disabled (the button waits for Enable and says so), then, once enabled, every
// failed or cancelled message since the picked time goes out again, signed.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, guestToken, json } from '../helper.js'
import { receiver, submitLead, subscribe, waitFor, webhookMessages } from '../webhook-fixtures.js'
import { browserSuite, openPage } from './harness.js'

async function signIn(context: BrowserContext): Promise<BrowserContext> {
  await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
  return context
}

describe('admin console, recovering the messages of a webhook endpoint', () => {
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' } })
  // The first request is answered 410 Gone (which disables the endpoint), every later one 204.
  let crm: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    crm = await receiver((n, _req, res) => {
      if (n === 1) res.writeHead(410).end()
    })
  })
  after(() => crm?.close())

  const api = (method: 'GET' | 'POST', url: string) =>
    suite.server.app.inject({ method, url, headers: adminHeaders })
  async function hook(slug: string) {
    return json(await api('GET', `/api/campaign/${slug}/webhooks`)).webhooks[0]
  }

  test('disabled: the control waits for Enable; enabled: what did not get through goes out again', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const { id } = await subscribe(suite.server.app, slug, crm, ['lead.created'])

    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    const control = page.locator('[data-testid="webhook-recover"]')
    const button = control.locator('[data-testid="webhook-recover-button"]')
    const hint = control.locator('[data-testid="webhook-recover-hint"]')
    const status = page.locator('[data-testid="webhooks-message"]')
    await button.waitFor()
    // Found by its label, filled with a time a day back (no disable time to start from).
    const since = page.getByLabel('Recover messages since')
    const shown = await since.inputValue()
    assert.match(shown, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/)
    const back = Date.now() - new Date(await page.evaluate((v) => new Date(v).toISOString(), shown)).getTime()
    assert.ok(back > 23 * 3600_000 && back < 25 * 3600_000, `defaults to a day back, not ${back} ms`)
    assert.equal(await button.isDisabled(), false)

    // The receiver's 410 to a test message disables the endpoint behind the page's back.
    assert.equal((await api('POST', `/api/campaign/${slug}/webhooks/${id}/test`)).statusCode, 202)
    await waitFor(async () => (await hook(slug)).enabled === false, 'the endpoint disabled by the 410')
    // The page still shows it enabled: the server's 409 is told in words, and the page catches up.
    await button.click()
    await status.filter({ hasText: 'The endpoint is disabled: click Enable first' }).waitFor()
    await page.locator('.badge', { hasText: 'disabled' }).waitFor()
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid="webhook-recover-button"]') as HTMLButtonElement | null)
          ?.disabled === true,
    )
    assert.match((await hint.textContent()) ?? '', /Enable the endpoint first/)
    assert.equal(
      await since.getAttribute('aria-describedby'),
      await hint.getAttribute('id'),
      'the hint is the input’s description',
    )

    // A lead while disabled: recorded for the endpoint as cancelled, nothing sent.
    const guest = await guestToken(suite.server.app)
    const lead = await submitLead(suite.server.app, guest.token, slug, 'while.off@example.com')
    assert.equal(lead.statusCode, 200, lead.body)
    const skipped = await waitFor(
      async () => (await webhookMessages(suite.server.app, slug, id)).find((m) => m.event === 'lead.created'),
      'the lead recorded for the disabled endpoint',
    )
    assert.equal(skipped.status, 'cancelled')
    assert.equal(crm.got.length, 1, 'nothing is sent while disabled')
    await page.locator('button', { hasText: 'Deliveries' }).click()
    const leadRow = page
      .locator('[data-testid="webhook-deliveries"] tbody tr')
      .filter({ has: page.locator('code', { hasText: 'lead.created' }) })
    await leadRow.waitFor()
    assert.equal((await leadRow.locator('td').nth(1).textContent())?.trim(), 'cancelled')

    await page.locator('button', { hasText: 'Enable' }).click()
    await status.filter({ hasText: 'Enabled.' }).waitFor()
    await page.locator('.badge', { hasText: 'disabled' }).waitFor({ state: 'detached' })
    assert.equal(await button.isDisabled(), false)
    assert.doesNotMatch((await hint.textContent()) ?? '', /Enable the endpoint first/)

    // Everything since the default (10 minutes before the 410) that did not get through: the test
    // message the 410 answered, and the lead.
    const due = (await webhookMessages(suite.server.app, slug, id)).filter((m) =>
      ['failed', 'cancelled'].includes(m.status),
    )
    assert.equal(due.length, 2)
    await button.click()
    await status.filter({ hasText: '2 messages queued again.' }).waitFor()
    const got = await waitFor(
      () => crm.got.find((g) => g.body.type === 'lead.created'),
      'the recovered lead at the receiver',
    )
    assert.equal(got.id, skipped.message_id, 'the same webhook-id as the event had')
    assert.equal(got.body.data.lead.email, 'while.off@example.com')
    assert.equal(got.verified, true, 'a valid Standard Webhooks signature')
    // The open log shows it going out.
    await page
      .locator('[data-testid="webhook-deliveries"] tbody tr', { hasText: 'delivered' })
      .filter({ has: page.locator('code', { hasText: 'lead.created' }) })
      .first()
      .waitFor()
    assert.deepEqual(problems, [])
  })
})
