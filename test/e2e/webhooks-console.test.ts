// The admin console's webhooks screen and rotated-out secrets: how many still sign and until when
// (never the secrets themselves), and ending their grace period early, in Chromium.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { receiver, subscribe, waitFor } from '../webhook-fixtures.js'
import { browserSuite, openPage } from './harness.js'

async function signIn(context: BrowserContext): Promise<BrowserContext> {
  await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
  return context
}

describe('admin console, webhook secrets in their grace period', () => {
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' } })
  let crm: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    crm = await receiver()
  })
  after(() => crm?.close())

  const api = (method: 'GET' | 'POST', url: string) =>
    suite.server.app.inject({ method, url, headers: adminHeaders })
  async function hook(slug: string) {
    return json(await api('GET', `/api/campaign/${slug}/webhooks`)).webhooks[0]
  }

  test('shows how many previous secrets sign and until when, and ends them on request', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const { id, secret: first } = await subscribe(suite.server.app, slug, crm, ['lead.created'])
    const base = `/api/campaign/${slug}/webhooks/${id}`
    const second = json(await api('POST', `${base}/rotate?grace_seconds=3600`)).secret
    const third = json(await api('POST', `${base}/rotate?grace_seconds=600`)).secret
    const listed = await hook(slug)
    assert.equal(listed.previous_secrets.length, 2)

    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    const panel = page.locator('[data-testid="webhook-previous-secrets"]')
    await panel.waitFor()
    assert.equal(
      await panel.locator('[data-testid="webhook-previous-count"]').textContent(),
      '2 previous secrets still sign',
    )
    // Each grace period's end, newest first, as the API has them.
    const until = page.locator('[data-testid="webhook-previous-until"]')
    assert.deepEqual(
      await until.evaluateAll((els) => els.map((e) => e.getAttribute('datetime'))),
      listed.previous_secrets.map((s: { expires_at: string }) => s.expires_at),
    )
    for (const t of await until.allTextContents()) assert.ok(t.trim().length > 0)
    // No secret anywhere on the page: they are shown once, when made.
    const shown = (await page.locator('body').textContent()) ?? ''
    for (const s of [first, second, third]) assert.equal(shown.includes(s.slice(6)), false)
    assert.equal(shown.includes('whsec_'), false)

    // A rotation in the console: its new secret is shown once, the count goes up, no old one shows.
    // Rotating asks first (the new secret is shown once; the old one keeps signing).
    page.once('dialog', (d) => void d.accept())
    await page.locator('button', { hasText: 'Rotate secret' }).click()
    const box = page.locator('[data-testid="webhook-secret"]')
    await box.waitFor()
    const fourth = ((await box.locator('code').textContent()) ?? '').trim()
    assert.match(fourth, /^whsec_/)
    await panel
      .locator('[data-testid="webhook-previous-count"]', { hasText: '3 previous secrets still sign' })
      .waitFor()
    await box.locator('button', { hasText: 'I have stored it' }).click()
    // Nowhere but in the status line of the rotation that made it.
    const after = await page.evaluate(() => {
      const copy = document.body.cloneNode(true) as HTMLElement
      copy.querySelector('[data-testid="webhooks-message"]')?.remove()
      return copy.textContent ?? ''
    })
    for (const s of [first, second, third, fourth]) assert.equal(after.includes(s.slice(6)), false)

    // Asked first; dismissed, nothing changes.
    const asked: string[] = []
    page.once('dialog', (d) => {
      asked.push(d.message())
      void d.dismiss()
    })
    const end = panel.locator('button', { hasText: 'End grace period now' })
    await end.click()
    await waitFor(() => asked.length === 1, 'the question')
    assert.match(asked[0]!, /^Stop the 3 previous secrets of http:\/\/127\.0\.0\.1:\d+\/hook now\?/)
    assert.equal((await hook(slug)).previous_secrets.length, 3)

    page.once('dialog', (d) => void d.accept())
    await end.click()
    await page.locator('[data-testid="webhooks-message"]', { hasText: 'Grace period ended' }).waitFor()
    await panel.waitFor({ state: 'detached' })
    assert.deepEqual((await hook(slug)).previous_secrets, [])

    // What the receiver gets from then on is signed by the current secret alone.
    crm.setSecret(fourth)
    const before = crm.got.length
    await page.locator('button', { hasText: 'Send test' }).click()
    const got = await waitFor(() => crm.got[before], 'the test message')
    assert.equal(got.verified, true)
    assert.equal(got.signature.split(' ').length, 1)
    assert.deepEqual(problems, [])
  })

  test('the delivery log pages back past the newest 100 attempts, and forward again', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const { id } = await subscribe(suite.server.app, slug, crm, ['lead.created'])
    // A message that failed 130 times over, as a long outage leaves it (settled: nothing polls).
    const db = suite.server.app.platform.database.db
    const outbox = await db
      .insertInto('service_notification_outbox')
      .values({
        message_id: 'msg_01J0000000000000000000PAGE',
        webhook_id: id,
        campaign_slug: slug,
        event: 'lead.created',
        subject_id: null,
        payload: JSON.stringify({ type: 'lead.created', timestamp: new Date().toISOString(), data: {} }),
        status: 'failed',
        attempts: 130,
        last_error: 'HTTP 503',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('service_notification_delivery')
      .values(
        Array.from({ length: 130 }, (_, i) => ({
          outbox_id: outbox.id,
          webhook_id: id,
          attempt: i + 1,
          status_code: 503,
          error: null,
          duration_ms: 3,
        })),
      )
      .execute()

    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    await page.locator('button', { hasText: 'Deliveries' }).click()
    const rows = page.locator('[data-testid="webhook-deliveries"] tbody tr')
    const attempts = () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[2]!.textContent)))
    await rows.first().waitFor()
    assert.deepEqual(
      await attempts(),
      Array.from({ length: 100 }, (_, i) => 130 - i),
    )
    const pages = page.locator('[data-testid="webhook-deliveries-pages"]')
    assert.equal(await pages.locator('button', { hasText: 'Newer attempts' }).isDisabled(), true)
    await pages.locator('button', { hasText: 'Older attempts' }).click()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="webhook-deliveries"] tbody tr').length === 30,
    )
    assert.deepEqual(
      await attempts(),
      Array.from({ length: 30 }, (_, i) => 30 - i),
    )
    assert.equal(await pages.locator('button', { hasText: 'Older attempts' }).isDisabled(), true)
    await pages.locator('button', { hasText: 'Newer attempts' }).click()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="webhook-deliveries"] tbody tr').length === 100,
    )
    assert.equal((await attempts())[0], 130)
    assert.deepEqual(problems, [])
  })

  test('an endpoint with no previous secret shows none', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    await subscribe(suite.server.app, slug, crm, ['lead.created'])
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    await page.locator('button', { hasText: 'Rotate secret' }).waitFor()
    assert.equal(await page.locator('[data-testid="webhook-previous-secrets"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})
