// Browser tests of the live features against the real server: gateway (presence, cursors), leads,
// referral milestones and translation (through the LibreTranslate-compatible test upstream).
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { type FakeLibreTranslate, startFakeLibreTranslate } from '../fixtures/libretranslate.js'
import { ADMIN_KEY, createCampaign } from '../helper.js'
import { DESKTOP, launch, openPage, type Server, screenshot, startServer } from './harness.js'

// Each test has its own timeout so one hang cannot use up the file's budget. Generous: on a loaded
// 2-core machine, two Chromium pages and the server share the cores (a limit is no assertion here).
const LIMIT = { timeout: 60_000 }
// How long one step may wait for the page.
const WAIT = 15_000
const XSS = '<img src=x onerror="window.__xss=1">Ada'

const countIs = (page: Page, n: number) =>
  page.waitForFunction(
    (want) => document.querySelector('[data-testid="active-users"]')?.textContent?.trim() === String(want),
    n,
    { timeout: WAIT },
  )

describe('live features in Chromium', () => {
  const contexts: BrowserContext[] = []
  const newContext = async () => {
    const context = await browser.newContext(DESKTOP)
    context.setDefaultTimeout(WAIT)
    contexts.push(context)
    return context
  }
  // A failed test leaves its pages open (sockets retrying, animation running): close them.
  afterEach(async () => {
    const closing = contexts.splice(0).map((c) => c.close().catch(() => {}))
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 5000))])
  })

  let server: Server
  let browser: Browser
  let translator: FakeLibreTranslate

  before(async () => {
    translator = await startFakeLibreTranslate()
    server = await startServer({ env: { LIBRETRANSLATE_URL: translator.url } })
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
    await server?.close()
    await translator?.close()
  })

  test('two visitors see each other’s cursor and an active count of 2', LIMIT, async () => {
    const slug = await createCampaign(server.app, { metadata: { scheduling: { frequency: 10 } } })
    const a = await newContext()
    const b = await newContext()
    const { page: pa } = await openPage(a, `${server.baseUrl}/c/${slug}`)
    const { page: pb } = await openPage(b, `${server.baseUrl}/c/${slug}`)
    await countIs(pa, 2)
    await countIs(pb, 2)
    for (let i = 0; i < 20; i++) {
      await pa.mouse.move(200 + i * 20, 300 + i * 5)
      await pa.waitForTimeout(50)
    }
    await pb.locator('[data-cursor-id]').first().waitFor({ timeout: WAIT })
    assert.equal(await pb.locator('[data-cursor-id]').count(), 1, 'B sees exactly A’s cursor')
    assert.equal(await pa.locator('[data-cursor-id]').count(), 0, 'A’s own cursor is not echoed')
    await screenshot(pb, 'site-two-visitors')
    await a.close()
    await countIs(pb, 1)
    await b.close()
  })

  test(
    'a quote submitted on the site shows up in the admin leads table, and its status goes back live',
    LIMIT,
    async () => {
      const slug = await createCampaign(server.app)
      const visitor = await newContext()
      const { page } = await openPage(visitor, `${server.baseUrl}/c/${slug}`)
      await countIs(page, 1)
      const form = page.locator('form[data-testid="quote-form"]')
      // Server validation errors appear inline next to the field.
      await form.locator('#quote-email').fill('not-an-email')
      await form.locator('button[type="submit"]').click()
      await page.locator('#quote-email-error').filter({ hasText: /\S/ }).waitFor()

      await form.locator('#quote-name').fill('Grace Hopper')
      await form.locator('#quote-email').fill('grace@example.org')
      await form.locator('#quote-company').fill('Navy')
      await form.locator('#quote-message').fill('A launch page for COBOL 2.0')
      await form.locator('button[type="submit"]').click()
      await page.locator('[data-testid="quote-status"] [data-status="new"]').waitFor()

      const admin = await newContext()
      await admin.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
      const { page: console } = await openPage(admin, `${server.baseUrl}/admin/c/${slug}/leads`)
      const row = console.locator('[data-testid="leads-table"] tr', { hasText: 'Grace Hopper' })
      await row.waitFor()
      await screenshot(console, 'admin-leads')
      await row.locator('select').selectOption('contacted')
      await page.locator('[data-testid="quote-status"] [data-status="contacted"]').waitFor({ timeout: WAIT })
      // A GDPR request: the admin erases the lead (after confirming); the row stays, nameless.
      console.once('dialog', (dialog) => void dialog.accept())
      await row.getByRole('button', { name: 'Erase' }).click()
      await console.locator('[data-testid="leads-table"] td', { hasText: /^erased$/ }).waitFor()
      assert.equal(
        await console.locator('[data-testid="leads-table"] tr', { hasText: 'Grace Hopper' }).count(),
        0,
      )
      await visitor.close()
      await admin.close()
    },
  )

  test(
    'a referral milestone reached through one visitor appears as a toast for the other, name as text',
    LIMIT,
    async () => {
      const slug = await createCampaign(server.app)
      const a = await newContext()
      const { page: pa } = await openPage(a, `${server.baseUrl}/c/${slug}`)
      await countIs(pa, 1)
      await pa.locator('#join-name').fill(XSS)
      await pa.locator('#join-email').fill(`ada.${Date.now()}@example.org`)
      await pa.locator('form[data-testid="join-form"] button[type="submit"]').click()
      const link = await pa.locator('#referral-link').inputValue()
      assert.match(link, /ref=/)

      const b = await newContext()
      const { page: pb } = await openPage(b, link)
      await countIs(pb, 2)
      await pb.locator('#join-name').fill('Charles')
      await pb.locator('#join-email').fill(`charles.${Date.now()}@example.org`)
      await pb.locator('form[data-testid="join-form"] button[type="submit"]').click()

      for (const page of [pa, pb]) {
        const toast = page.locator('[data-testid="toast"]').first()
        await toast.waitFor({ timeout: WAIT })
        assert.ok((await toast.textContent())?.includes(XSS), 'the name is shown literally')
        assert.equal(await toast.locator('img').count(), 0)
        assert.equal(await page.evaluate(() => (window as any).__xss), undefined)
        // The leaderboard, live from stats_update: Ada first with one referral, her name as text.
        const first = page.locator('[data-testid="leaderboard"] li').first()
        await page.waitForFunction(
          () => document.querySelector('[data-testid="leaderboard"] li .board-count')?.textContent === '1',
          undefined,
          { timeout: WAIT },
        )
        assert.equal(await first.locator('.board-name').textContent(), XSS)
        assert.equal(await first.locator('img').count(), 0)
      }
      await screenshot(pb, 'site-milestone-toast')
      await a.close()
      await b.close()
    },
  )

  test('switching language translates the page through /api/translate and caches it', LIMIT, async () => {
    const context = await newContext()
    const { page } = await openPage(context, `${server.baseUrl}/`)
    await page.locator('h1').waitFor()
    const requests: string[] = []
    page.on('request', (r) => r.url().endsWith('/api/translate') && requests.push(r.url()))
    // What `lang` said when the heading first turned Spanish: a MutationObserver runs before
    // anything after the render (an effect after paint), so a late `lang` shows here, every time.
    await page.evaluate(() => {
      const w = window as unknown as { langWhenSpanish?: string }
      new MutationObserver(() => {
        if (w.langWhenSpanish === undefined && document.querySelector('h1')?.textContent?.startsWith('[es] '))
          w.langWhenSpanish = document.documentElement.lang
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    await page.locator('[data-testid="language-switcher"]').selectOption('es')
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.startsWith('[es] '))
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'es')
    assert.equal(
      await page.evaluate(() => (window as unknown as { langWhenSpanish?: string }).langWhenSpanish),
      'es',
      'lang changes in the same commit as the text',
    )
    assert.ok(requests.length > 0)
    assert.ok(translator.strings > 0, 'the strings went through the LibreTranslate upstream')
    await screenshot(page, 'site-spanish')

    // Back to English, then Spanish again: served from the cache, no new requests.
    await page.locator('[data-testid="language-switcher"]').selectOption('en')
    await page.waitForFunction(
      () => document.querySelector('h1')?.textContent === 'Launch pages that feel alive.',
    )
    const before = requests.length
    await page.locator('[data-testid="language-switcher"]').selectOption('es')
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.startsWith('[es] '))
    assert.equal(requests.length, before)
    await context.close()
  })

  test('admin: a CRM endpoint is added, edited, and its secret rotated', LIMIT, async () => {
    const slug = await createCampaign(server.app)
    const admin = await newContext()
    await admin.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(admin, `${server.baseUrl}/admin/c/${slug}/webhooks`)
    const add = page.locator('form[data-testid="webhook-form"]')
    // A public address literal: nothing is sent (no lead is submitted here), no DNS needed.
    await add.locator('#wh-url').fill('https://93.184.215.14/crm')
    await add.locator('button[type="submit"]').click()
    const status = page.locator('p[role="status"]')
    await status.filter({ hasText: 'Signing secret (shown once): whsec_' }).waitFor()
    const first = (await status.textContent())!.split('shown once): ')[1]!

    await page.getByRole('button', { name: 'Edit' }).click()
    const edit = page.locator('form[data-testid="webhook-edit"]')
    await edit.locator('input[name="url"]').fill('https://93.184.215.14/crm/v2')
    await edit.locator('input[name="lead.created"]').uncheck()
    await edit.locator('button[type="submit"]').click()
    await page.locator('.panel strong', { hasText: 'https://93.184.215.14/crm/v2' }).waitFor()
    assert.equal(await edit.count(), 0, 'the edit form closes once saved')
    const [stored] = (
      await server.app
        .inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: { 'x-api-key': ADMIN_KEY },
        })
        .then((r) => r.json())
    ).webhooks
    assert.deepEqual(
      [stored.url, stored.events],
      ['https://93.184.215.14/crm/v2', ['lead.updated', 'lead.erased']],
    )

    // Rotating asks first (the new secret is shown once; the old one keeps signing).
    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: 'Rotate secret' }).click()
    await status.filter({ hasText: 'New signing secret' }).waitFor()
    const rotated = /whsec_\S+?(?=\.|\s|$)/.exec((await status.textContent())!)?.[0]
    assert.ok(rotated && rotated !== first, 'a different secret, shown once')
    await screenshot(page, 'admin-webhooks')
    assert.deepEqual(problems, [])
  })

  test(
    'admin: the service graph is drawn and picking a node highlights what relies on it',
    LIMIT,
    async () => {
      const admin = await newContext()
      await admin.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
      const { page, problems } = await openPage(admin, `${server.baseUrl}/admin/graph`)
      await page.locator('[data-testid="graph-diagram"] svg g.node').first().waitFor({ timeout: 45_000 })
      await page.locator('[data-testid="graph-node"]').selectOption('module:quote')
      await page.locator('[data-testid="graph-impact"]').waitFor()
      const listed = await page.locator('[data-testid="graph-impact"] tbody tr').count()
      assert.ok(listed > 0, 'the quote endpoints and actions rely on the quote module')
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="graph-diagram"] g.node[data-impact]').length > 1,
      )
      const root = page.locator('[data-testid="graph-diagram"] g.node[data-impact="root"]')
      assert.equal(await root.count(), 1)
      assert.equal((await root.textContent())?.trim(), 'quote')
      await screenshot(page, 'admin-graph')
      assert.deepEqual(problems, [])
    },
  )
})
