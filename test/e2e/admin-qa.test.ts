// The admin console as an operator drives it: an address with no campaign, the leads table with
// long and erased leads, double clicks, a concurrent edit, and the webhook screens.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { receiver, waitFor } from '../webhook-fixtures.js'
import { browserSuite, openPage } from './harness.js'

/** Signed in as the login form leaves it: the key in sessionStorage. */
async function signIn(context: BrowserContext): Promise<BrowserContext> {
  await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
  return context
}

/** The method and path of every API request the page sends that `match`es. */
function recordRequests(page: Page, match: RegExp): string[] {
  const sent: string[] = []
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname
    if (match.test(`${r.method()} ${path}`)) sent.push(`${r.method()} ${path}`)
  })
  return sent
}

describe('admin console, as an operator drives it', () => {
  // Webhook endpoints on this machine's loopback address (a CRM the test runs), polled quickly.
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' } })
  let crm: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    crm = await receiver()
  })
  after(() => crm?.close())

  // Each lead from its own address: the per-address quote limit is not what these tests are about.
  let visitors = 0
  async function lead(slug: string, fields: Record<string, string>): Promise<string> {
    visitors++
    const from = { 'x-forwarded-for': `198.51.${Math.floor(visitors / 250)}.${(visitors % 250) + 1}` }
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session', headers: from })
    assert.equal(session.statusCode, 201, session.body)
    const res = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}`, ...from },
      payload: { campaign: slug, ...fields },
    })
    assert.equal(res.statusCode, 200, res.body)
    return json(res).result.lead_id
  }

  async function hooksOf(slug: string): Promise<Array<{ id: string; url: string }>> {
    const res = await suite.server.app.inject({
      method: 'GET',
      url: `/api/campaign/${slug}/webhooks`,
      headers: adminHeaders,
    })
    return json(res).webhooks
  }

  test('an address naming no campaign says so, instead of showing empty tabs', async () => {
    await createCampaign(suite.server.app)
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(
      context,
      `${suite.server.baseUrl}/admin/c/no-such-campaign/settings`,
    )
    const missing = page.locator('[data-testid="campaign-missing"]')
    await missing.locator('.notice').waitFor()
    assert.match((await missing.textContent()) ?? '', /There is no campaign no-such-campaign/)
    assert.equal(await page.locator('nav.tabs').count(), 0)
    // Its link goes back to the list.
    await missing.locator('a', { hasText: 'Back to campaigns' }).click()
    await page.locator('[data-testid="campaign-cards"] .campaign-card').first().waitFor()
    assert.equal(new URL(page.url()).pathname, '/admin')
    assert.deepEqual(problems, [])
  })

  test('a keyboard user can skip past the campaign list, and the tab title names the page', async () => {
    const slug = await createCampaign(suite.server.app)
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    await page.locator('[data-testid="campaign-list"] a').first().waitFor()
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.activeElement?.id === 'main')
    await page.waitForFunction((t) => document.title === t, `Test ${slug} · leads · Ovasabi console`)
    assert.deepEqual(problems, [])
  })

  test('the leads table stays readable with a 5,000-character message, on a desktop and at 375px', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics', 'quote'] })
    await lead(slug, { name: 'Ada Lovelace', email: 'ada@example.com', message: 'm'.repeat(5000) })
    await lead(slug, { name: 'Grace Hopper', email: 'grace.hopper.long.address@example.com', message: 'hi' })
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const table = page.locator('[data-testid="leads-table"]')
    await table.waitFor()
    const ada = table.locator('tr', { hasText: 'Ada Lovelace' })
    const row = (await ada.boundingBox())!
    // A few lines of the message, not a column of them thousands of pixels tall.
    assert.ok(row.height < 200, `the row is ${row.height}px tall`)
    assert.equal(await ada.locator('td.message .clip').getAttribute('title'), 'm'.repeat(5000))
    const erase = (await ada.locator('button', { hasText: 'Erase' }).boundingBox())!
    assert.ok(erase.width > erase.height, `Erase is on one line (${erase.width}×${erase.height})`)

    await page.setViewportSize({ width: 375, height: 800 })
    await table.waitFor()
    const [scrollWidth, viewport] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      window.innerWidth,
    ])
    assert.ok(scrollWidth <= viewport, `the page scrolls sideways: ${scrollWidth}px in ${viewport}px`)
    const tabs = (await page.locator('nav.tabs').boundingBox())!
    const last = (await page.locator('nav.tabs a', { hasText: 'Webhooks' }).boundingBox())!
    assert.ok(last.x + last.width <= tabs.x + tabs.width, 'every tab is in view')
    assert.deepEqual(problems, [])
  })

  test('an erased lead’s status is locked, and a refused status change does not stay selected', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics', 'quote'] })
    const gone = await lead(slug, { name: 'Erased Already', email: 'gone@example.com' })
    const later = await lead(slug, { name: 'Erased Later', email: 'later@example.com' })
    const erase = (id: string) =>
      suite.server.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/leads/${id}`,
        headers: adminHeaders,
      })
    assert.equal((await erase(gone)).statusCode, 200)
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const erased = page.locator(`tr[data-lead-id="${gone}"]`)
    await erased.waitFor()
    assert.equal(await erased.locator('select').isDisabled(), true)
    // Its control is still named for a screen reader ("Status of " named nothing).
    assert.match((await erased.locator('label').textContent()) ?? '', /^Status of erased lead lead_/)

    // Erased by someone else while this table is open: the change is refused and the row shows
    // what the server holds.
    assert.equal((await erase(later)).statusCode, 200)
    const select = page.locator(`tr[data-lead-id="${later}"] select`)
    await select.selectOption('won')
    const message = page.locator('[data-testid="leads-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), 'danger')
    assert.match((await message.textContent()) ?? '', /LEAD_ERASED/)
    await page.waitForFunction(
      (id) => (document.querySelector(`tr[data-lead-id="${id}"] select`) as HTMLSelectElement)?.disabled,
      later,
    )
    assert.equal(await select.inputValue(), 'new')
    assert.deepEqual(
      problems.filter((p) => !/409/.test(p)),
      [],
    )
  })

  test('a status filter that matches nothing says so, not "No leads yet"', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics', 'quote'] })
    await lead(slug, { name: 'New Lead', email: 'new@example.com' })
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    await page.locator('[data-testid="leads-table"]').waitFor()
    await page.locator('#lead-status').selectOption('won')
    const empty = page.locator('[data-testid="leads-empty"]')
    await empty.waitFor()
    assert.equal(await empty.textContent(), 'No leads match this status and search.')
    assert.deepEqual(problems, [])
  })

  test('past a hundred leads the table pages, saying how many there are', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics', 'quote'] })
    for (let i = 1; i <= 101; i++) {
      const n = String(i).padStart(3, '0')
      await lead(slug, { name: `Lead ${n}`, email: `lead${n}@example.com` })
    }
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const pager = page.locator('[data-testid="leads-pager"]')
    await pager.waitFor()
    assert.match((await pager.textContent()) ?? '', /Leads 1–100 of 101/)
    const rows = page.locator('[data-testid="leads-table"] tbody tr')
    assert.equal(await rows.count(), 100)
    await pager.locator('button', { hasText: 'Next' }).click()
    await pager.locator('text=Leads 101–101 of 101').waitFor()
    assert.equal(await rows.count(), 1)
    assert.equal(await pager.locator('button', { hasText: 'Next' }).isDisabled(), true)
    // A new filter starts from its first page.
    await page.locator('#lead-status').selectOption('new')
    await pager.locator('text=Leads 1–100 of 101').waitFor()
    assert.deepEqual(problems, [])
  })

  test('a double click on Save saves once and reports no conflict', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    const patches = recordRequests(page, /^PATCH \/api\/campaign\//)
    await page.locator('#ed-title').fill('Double clicked')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').dblclick()
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.textContent(), 'Saved.')
    await page.locator('.actions .muted', { hasText: 'version 2' }).waitFor()
    assert.deepEqual(patches, [`PATCH /api/campaign/${slug}`])
    assert.deepEqual(problems, [])
  })

  test('a save refused for someone else’s edit offers their version, and then saves', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    await page.locator('[data-testid="campaign-editor"]').waitFor()
    const elsewhere = await suite.server.app.inject({
      method: 'PATCH',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
      payload: { title: 'Changed elsewhere' },
    })
    assert.equal(elsewhere.statusCode, 200, elsewhere.body)
    await page.locator('#ed-title').fill('Mine')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), 'warn')
    assert.match((await message.textContent()) ?? '', /Someone else saved this campaign/)
    const load = page.locator('[data-testid="load-latest"]')
    await page.locator('[data-testid="load-latest"]:not([disabled])').waitFor()
    assert.equal(await load.textContent(), 'Load version 2')
    await load.click()
    assert.equal(await page.locator('#ed-title').inputValue(), 'Changed elsewhere')
    assert.equal(await page.locator('[data-testid="editor-message"]').count(), 0)
    await page.locator('#ed-title').fill('Mine after all')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    await page.locator('[data-testid="editor-message"]', { hasText: 'Saved.' }).waitFor()
    const saved = json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )
    assert.equal(saved.title, 'Mine after all')
    assert.equal(saved.version, 3)
    assert.deepEqual(
      problems.filter((p) => !/409/.test(p)),
      [],
    )
  })

  test('an empty frequency or a title of spaces is caught before anything is sent', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await signIn(await suite.newContext())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    const sent = recordRequests(page, /^(PATCH|POST) \/api\/campaign/)
    const submit = page.locator('[data-testid="campaign-editor"] button[type="submit"]')
    await page.locator('#ed-freq').fill('')
    await submit.click()
    assert.equal(
      await page.locator('#ed-freq').evaluate((e) => (e as HTMLInputElement).validity.valueMissing),
      true,
    )
    await page.locator('#ed-freq').fill('2')
    await page.locator('#ed-title').fill('   ')
    await submit.click()
    await page.locator('[data-testid="editor-message"]', { hasText: 'Give the campaign a title.' }).waitFor()

    await page.goto(`${suite.server.baseUrl}/admin/new`)
    await page.locator('#new-slug').fill(`${slug}-blank`)
    await page.locator('#new-title').fill('   ')
    await page.locator('[data-testid="new-campaign-form"] button[type="submit"]').click()
    await page
      .locator('[data-testid="new-campaign-form"] .notice', { hasText: 'Give the campaign a title.' })
      .waitFor()
    assert.deepEqual(sent, [])
    assert.deepEqual(problems, [])
  })

  test('Start and End are wall-clock times in the campaign’s time zone, and an unknown time zone is refused', async () => {
    // 14:00 UTC on 10 March 2030 is 10:00 in New York (daylight time began that morning).
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'analytics'],
      metadata: {
        scheduling: { frequency: 1, timezone: 'America/New_York', start: '2030-03-10T14:00:00.000Z' },
      },
    })
    const context = await suite.newContext()
    await signIn(context)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
    assert.notEqual(zone, 'America/New_York', 'the browser must not share the campaign’s zone')
    const hint = page.locator('[data-testid="schedule-zone-hint"]')
    assert.equal(await hint.textContent(), 'Start and End are times in America/New_York.')
    assert.equal(await page.locator('#ed-start').inputValue(), '2030-03-10T10:00')
    const save = async () => {
      await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
      const message = page.locator('[data-testid="editor-message"]')
      await message.waitFor()
      return message
    }
    const scheduling = async () =>
      json(
        await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      ).metadata.scheduling

    // 18:30 in New York on 20 March 2030 is 22:30 UTC.
    await page.locator('#ed-end').fill('2030-03-20T18:30')
    assert.equal(await (await save()).getAttribute('data-tone'), 'ok')
    assert.deepEqual(
      [(await scheduling()).start, (await scheduling()).end],
      ['2030-03-10T14:00:00.000Z', '2030-03-20T22:30:00.000Z'],
    )

    // Another zone: the same wall-clock times, read in it (Kolkata is UTC+5:30).
    await page.locator('#ed-tz').fill('Asia/Kolkata')
    assert.equal(await hint.textContent(), 'Start and End are times in Asia/Kolkata.')
    assert.equal(await (await save()).getAttribute('data-tone'), 'ok')
    const moved = await scheduling()
    assert.deepEqual(
      [moved.timezone, moved.start, moved.end],
      ['Asia/Kolkata', '2030-03-10T04:30:00.000Z', '2030-03-20T13:00:00.000Z'],
    )

    await page.reload()
    await page.locator('#ed-tz').fill('Berlin')
    assert.equal(
      await hint.textContent(),
      `Start and End are times in ${zone}, this browser’s time zone, until the time zone field names one.`,
    )
    assert.ok((await page.locator('#ed-tz-zones option[value="Europe/Berlin"]').count()) === 1)
    const refused = await save()
    assert.equal(await refused.getAttribute('data-tone'), 'danger')
    assert.match(
      (await refused.textContent()) ?? '',
      /metadata\.scheduling\.timezone must be an IANA time zone/,
    )
    assert.deepEqual(problems, [])
  })

  /** A new campaign's webhooks screen, signed in, its add form drawn. */
  async function openWebhooks(): Promise<{ slug: string; page: Page; problems: string[] }> {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics', 'quote'] })
    const context = await signIn(await suite.newContext())
    const opened = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    await opened.page.locator('[data-testid="webhook-form"]').waitFor()
    return { slug, ...opened }
  }

  test('the webhook form says what is wrong with a URL or the events in words, and sends nothing', async () => {
    const { page, problems } = await openWebhooks()
    const sent = recordRequests(page, /^POST \/api\/campaign\/.*\/webhooks/)
    const form = page.locator('[data-testid="webhook-form"]')
    const message = page.locator('[data-testid="webhooks-message"]')
    await form.waitFor()
    await page.locator('#wh-url').fill('ftp://crm.example.com/hook')
    await form.locator('button[type="submit"]').click()
    await message.waitFor()
    assert.equal(await message.textContent(), 'The URL must start with http:// or https://.')
    await page.locator('#wh-url').fill(crm.url)
    for (const box of await form.locator('input[type="checkbox"]').all()) await box.uncheck()
    await form.locator('button[type="submit"]').click()
    await page
      .locator('[data-testid="webhooks-message"]', { hasText: 'Pick at least one event to send.' })
      .waitFor()
    assert.deepEqual(sent, [])
    assert.deepEqual(problems, [])
  })

  test('a double click on Add webhook adds one endpoint; Remove asks first', async () => {
    const { slug, page, problems } = await openWebhooks()
    const form = page.locator('[data-testid="webhook-form"]')
    await form.waitFor()
    await page.locator('#wh-url').fill(crm.url)
    await form.locator('button[type="submit"]').dblclick()
    await page.locator('[data-testid="webhooks-message"]', { hasText: 'Signing secret' }).waitFor()
    const remove = page.locator('button', { hasText: 'Remove' })
    await remove.first().waitFor()
    assert.equal(await remove.count(), 1)
    assert.equal((await hooksOf(slug)).length, 1)

    const asked: string[] = []
    page.once('dialog', (d) => {
      asked.push(d.message())
      void d.dismiss()
    })
    await remove.click()
    await waitFor(() => asked.length === 1, 'the question')
    assert.match(asked[0]!, /^Remove the webhook to http:\/\/127\.0\.0\.1:\d+\/hook\?/)
    assert.equal((await hooksOf(slug)).length, 1)
    page.once('dialog', (d) => void d.accept())
    await remove.click()
    await page.locator('[data-testid="webhooks-message"]', { hasText: 'Removed.' }).waitFor()
    assert.equal((await hooksOf(slug)).length, 0)
    assert.deepEqual(problems, [])
  })

  test('a new signing secret stays on screen after later actions until the operator has stored it', async () => {
    const { page, problems } = await openWebhooks()
    const form = page.locator('[data-testid="webhook-form"]')
    await form.waitFor()
    await page.locator('#wh-url').fill(crm.url)
    await form.locator('button[type="submit"]').click()
    const message = page.locator('[data-testid="webhooks-message"]')
    await message.filter({ hasText: 'Signing secret' }).waitFor()
    const secret = /whsec_\S+/.exec((await message.textContent()) ?? '')?.[0]
    assert.ok(secret, 'the secret is shown')

    // The next action takes the status line; the secret stays beside it.
    await page.locator('button', { hasText: 'Send test' }).click()
    await message.filter({ hasText: 'Test event queued.' }).waitFor()
    const box = page.locator('[data-testid="webhook-secret"]')
    assert.equal(await box.locator('code').textContent(), secret)
    assert.match((await box.textContent()) ?? '', new RegExp(crm.url.replace(/[.?]/g, '\\$&')))

    await box.locator('button', { hasText: 'I have stored it' }).click()
    assert.equal(await box.count(), 0)
    assert.deepEqual(problems, [])
  })

  test('the open delivery log shows the tests sent from it, as they are delivered', async () => {
    const { page, problems } = await openWebhooks()
    const form = page.locator('[data-testid="webhook-form"]')
    await form.waitFor()
    await page.locator('#wh-url').fill(crm.url)
    await form.locator('button[type="submit"]').click()
    await page.locator('button', { hasText: 'Deliveries' }).click()
    await page.locator('text=No deliveries yet.').waitFor()
    const rows = page.locator('[data-testid="webhook-deliveries"] tbody tr')
    for (const n of [1, 2]) {
      await page.locator('button', { hasText: 'Send test' }).click()
      await page.waitForFunction(
        (n) =>
          [...document.querySelectorAll('[data-testid="webhook-deliveries"] tbody tr')].filter((tr) =>
            tr.textContent?.includes('delivered'),
          ).length === n,
        n,
      )
    }
    assert.equal(await rows.count(), 2)
    assert.deepEqual(problems, [])
  })
})
