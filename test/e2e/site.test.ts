import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, guestToken, json, uniqueSlug } from '../helper.js'
import {
  DESKTOP,
  launch,
  openCampaignPage,
  openPage,
  PHONE,
  screenshot,
  serverAndBrowser,
} from './harness.js'

const XSS = '<img src=x onerror="window.__xss=1">Ada'

describe('campaign site and admin console in Chromium', () => {
  const suite = serverAndBrowser()

  test('the default campaign page loads with live count, join and quote forms, and no CSP errors', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/`)
    await page.locator('h1').waitFor()
    assert.equal(await page.locator('h1').textContent(), 'Launch pages that feel alive.')
    await page.locator('[data-testid="active-users"]').waitFor()
    await page.locator('form[data-testid="join-form"]').waitFor()
    await page.locator('form[data-testid="quote-form"]').waitFor()
    // The page asked the server for the default campaign (title comes from its row).
    await page.locator('.brand', { hasText: 'Ovasabi' }).waitFor()
    // Every field has a label.
    for (const id of ['join-name', 'join-email', 'quote-name', 'quote-email', 'quote-message']) {
      assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `label for ${id}`)
    }
    await screenshot(page, 'site-desktop')
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('served over plain HTTP at a name other than localhost, the page still loads and goes live', async () => {
    // Chromium never upgrades requests to localhost, so the server is reached by another name,
    // as a LAN box or a fresh VPS would be: a CSP `upgrade-insecure-requests` would send the
    // page's own scripts and socket to HTTPS, which this server does not speak.
    const port = new URL(suite.server.baseUrl).port
    const named = await launch(['--host-resolver-rules=MAP ovasabi.test 127.0.0.1'])
    try {
      const context = await named.newContext(DESKTOP)
      const { page, problems } = await openPage(context, `http://ovasabi.test:${port}/`)
      await page.locator('h1', { hasText: 'Launch pages that feel alive.' }).waitFor({ timeout: 15_000 })
      await page.waitForFunction(
        () => /^\d+$/.test(document.querySelector('[data-testid="active-users"]')?.textContent ?? ''),
        undefined,
        { timeout: 15_000 },
      )
      assert.deepEqual(
        problems.filter((p) => /Content Security Policy|pageerror/.test(p)),
        [],
      )
    } finally {
      await named.close()
    }
  })

  test('/c/{campaign} shows that campaign and hides the features it does not enable', async () => {
    const { context, page, problems } = await openCampaignPage(suite.server, suite.browser, [
      'presence',
      'analytics',
    ])
    await page.locator('[data-testid="active-users"]').waitFor()
    assert.equal(await page.locator('form[data-testid="join-form"]').count(), 0)
    assert.equal(await page.locator('form[data-testid="quote-form"]').count(), 0)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a visitor whose token the server revoked (their person erased) gets the page as a new guest', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/`)
    await page.locator('#join-name').fill('Erin')
    await page.locator('#join-email').fill(`erin.${Date.now()}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('ovasabi.user') ?? '{}'))
    const erased = await suite.server.app.inject({
      method: 'DELETE',
      url: `/api/user/${stored.id}`,
      headers: { 'x-api-key': ADMIN_KEY },
    })
    assert.equal(erased.statusCode, 200, erased.body)

    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.locator('form[data-testid="join-form"]').waitFor()
    await page.locator('[data-testid="active-users"]').waitFor()
    assert.equal(await page.locator('[data-testid="referral-card"]').count(), 0)
    assert.equal(await page.evaluate(() => localStorage.getItem('ovasabi.user')), null)
    // The page holds a working guest token again: the server accepts it.
    const [token, slug] = await page.evaluate(() => [
      localStorage.getItem('ovasabi.token'),
      document.querySelector<HTMLMetaElement>('meta[name="ovasabi-campaign"]')?.content ?? 'ovasabi_website',
    ])
    const check = await suite.server.app.inject({
      method: 'GET',
      url: `/api/campaign/${slug}`,
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(check.statusCode, 200, check.body)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a referral code typed before the name is kept, and the join is credited to the referrer', async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'referral'],
    })
    const { token } = await guestToken(suite.server.app)
    const referrer = await suite.server.app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { authorization: `Bearer ${token}` },
      payload: { campaign: slug, name: 'Rita Referrer', email: `rita.${Date.now()}@example.org` },
    })
    assert.equal(referrer.statusCode, 201, referrer.body)
    const code = json(referrer).user.referral_code as string
    assert.ok(code)

    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('form[data-testid="join-form"]').waitFor()
    // A visitor pastes the code a friend sent first, then fills in the rest.
    await page.locator('#join-code').fill(code)
    await page.locator('#join-name').fill('Bea')
    await page.locator('#join-email').fill(`bea.${Date.now()}@example.org`)
    assert.equal(await page.locator('#join-code').inputValue(), code)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()

    const board = await suite.server.app.inject({
      url: `/api/campaign/${slug}/referrals/leaderboard`,
      headers: { 'x-api-key': ADMIN_KEY },
    })
    assert.equal(board.statusCode, 200, board.body)
    assert.deepEqual(
      json(board).entries.map((e: { display_name: string; referrals: number }) => [
        e.display_name,
        e.referrals,
      ]),
      [['Rita Referrer', 1]],
    )
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a name with markup is shown literally, never interpreted', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/`)
    await page.locator('#join-name').fill(XSS)
    const preview = page.locator('[data-testid="name-preview"]')
    await page.waitForFunction(
      (text) => document.querySelector('[data-testid="name-preview"]')?.textContent === text,
      XSS,
    )
    assert.equal(await preview.locator('img').count(), 0)
    assert.equal(await page.evaluate(() => (window as any).__xss), undefined)
    await context.close()
  })

  test('phone-sized layout has no horizontal overflow and the forms stay usable', async () => {
    const context = await suite.browser.newContext(PHONE)
    const { page } = await openPage(context, `${suite.server.baseUrl}/`)
    await page.locator('form[data-testid="quote-form"]').waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`)
    await screenshot(page, 'site-phone')
    await context.close()
  })

  test('keyboard: Tab reaches the skip link first and then the join form fields', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/`)
    await page.locator('form[data-testid="join-form"]').waitFor()
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link')
    await page.locator('#join-name').focus()
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'join-email')
    await context.close()
  })

  test('admin: a wrong key is refused, the right key lists campaigns and edits one', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin`)
    await page.locator('#api-key').fill('ovs_wrong_key_000000000000')
    await page.locator('form[data-testid="login-form"] button[type="submit"]').click()
    await page.locator('form[data-testid="login-form"] [role="alert"]').waitFor()

    await page.locator('#api-key').fill(ADMIN_KEY)
    await page.locator('form[data-testid="login-form"] button[type="submit"]').click()
    const list = page.locator('[data-testid="campaign-list"]')
    await list.locator('a', { hasText: 'ovasabi_website' }).waitFor()
    await list.locator('a', { hasText: slug }).waitFor()
    await screenshot(page, 'admin-campaigns')

    // Edit: turn on quotes, raise the broadcast frequency, save; the API reflects it.
    await list.locator('a', { hasText: slug }).click()
    await page.locator('nav.tabs a', { hasText: 'Settings' }).click()
    await page.locator('[data-testid="campaign-editor"]').waitFor()
    await page.locator('label.toggle', { hasText: 'quote' }).click()
    await page.locator('#ed-freq').fill('12')
    await page.locator('#ed-rules').fill('{"max_cursors": 20}')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    await page.locator('[data-testid="campaign-editor"] .notice[data-tone="ok"]').waitFor()
    const res = await suite.server.app.inject({
      url: `/api/campaign/${slug}`,
      headers: { 'x-api-key': ADMIN_KEY },
    })
    const saved = res.json()
    assert.ok(saved.metadata.features.includes('quote'))
    assert.equal(saved.metadata.scheduling.frequency, 12)
    assert.deepEqual(saved.metadata.custom_rules, { max_cursors: 20 })
    await screenshot(page, 'admin-settings')

    // The key survives a reload (sessionStorage) and deep links work.
    await page.goto(`${suite.server.baseUrl}/admin/c/${slug}/dashboard`)
    await page.locator('[data-testid="dashboard"]').waitFor()
    await page.waitForFunction(
      () => document.querySelector('[data-testid="dash-leads"]')?.textContent !== '–',
    )
    await screenshot(page, 'admin-dashboard')
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('admin: the CSV export holds the leads the table shows (its status and its search)', async () => {
    const slug = await createCampaign(suite.server.app)
    for (const [name, email] of [
      ['Grace Hopper', 'grace@example.org'],
      ['Alan Turing', 'alan@example.org'],
    ]) {
      const guest = (await suite.server.app.inject({ method: 'POST', url: '/api/session' })).json()
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, name, email, message: 'A launch page' },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const context = await suite.browser.newContext({ ...DESKTOP, acceptDownloads: true })
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const rows = page.locator('[data-testid="leads-table"] tbody tr')
    await page.locator('[data-testid="leads-table"] tr', { hasText: 'Alan Turing' }).waitFor()
    await page.locator('#lead-q').fill('grace')
    await page.locator('#lead-q').press('Enter')
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="leads-table"] tbody tr').length === 1,
    )
    assert.match((await rows.first().textContent()) ?? '', /Grace Hopper/)
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="leads-csv"]').click(),
    ])
    const { readFile } = await import('node:fs/promises')
    const csv = await readFile((await download.path())!, 'utf8')
    assert.match(csv, /Grace Hopper/)
    assert.doesNotMatch(csv, /Alan Turing/)
    await context.close()
  })

  test('admin: a key revoked while signed in sends the console back to sign-in, saying why', async () => {
    const revoked = await suite.server.app.platform.apiKeys.create({
      name: `soon-revoked-${Date.now()}`,
      role: 'admin',
    })
    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin`)
    await page.locator('#api-key').fill(revoked.key)
    await page.locator('form[data-testid="login-form"] button[type="submit"]').click()
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()

    assert.equal(await suite.server.app.platform.apiKeys.revoke(revoked.id), true)
    await page.locator('a', { hasText: 'Streams wall' }).click()
    // Not a page of "INVALID_API_KEY" notices: the sign-in form, with the reason, and the key gone.
    await page.locator('form[data-testid="login-form"]').waitFor({ timeout: 10_000 })
    assert.match((await page.locator('[data-testid="key-refused"]').textContent()) ?? '', /refused|revoked/i)
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ovasabi.admin.apiKey')), null)

    // A new key signs straight back in.
    await page.locator('#api-key').fill(ADMIN_KEY)
    await page.locator('form[data-testid="login-form"] button[type="submit"]').click()
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    assert.equal(await page.locator('[data-testid="key-refused"]').count(), 0)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('admin: a new campaign created in the console opens in its settings', async () => {
    const slug = uniqueSlug('ui')
    const context = await suite.browser.newContext(DESKTOP)
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page } = await openPage(context, `${suite.server.baseUrl}/admin/new`)
    await page.locator('#new-slug').fill(slug)
    await page.locator('#new-title').fill('Made in the console')
    await page.locator('form[data-testid="new-campaign-form"] button[type="submit"]').click()
    await page.locator('[data-testid="campaign-editor"]').waitFor()
    assert.equal(await page.locator('#ed-title').inputValue(), 'Made in the console')
    assert.match(page.url(), new RegExp(`/admin/c/${slug}/settings$`))
    await context.close()
  })
})
