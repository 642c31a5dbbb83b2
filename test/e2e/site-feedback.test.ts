import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { STRINGS } from '../../web/src/site/strings.js'
import { adminHeaders, createCampaign, uniqueSlug } from '../helper.js'
import { DESKTOP, openCampaignPage, openPage, serverAndBrowser } from './harness.js'

/** What the visitor is told on the page: each a defect QA found (the page said too little or too much). */
describe('campaign site feedback in Chromium', () => {
  // No LIBRETRANSLATE_URL: the server has no translation provider (the default).
  const suite = serverAndBrowser()

  const text = async (page: Page, selector: string) =>
    ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim()

  test('a referral code the server refused is reported after the join, which still went through', async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'referral'],
    })
    const context = await suite.browser.newContext(DESKTOP)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('form[data-testid="join-form"]').waitFor()
    await page.locator('#join-name').fill('Carol Code')
    await page.locator('#join-email').fill(`carol.${Date.now()}@example.org`)
    await page.locator('#join-code').fill('NOPE123')
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()
    const notice = await text(page, '[data-testid="referral-refused"]')
    assert.equal(notice, `${STRINGS['join.referral.notApplied']} ${STRINGS['join.referral.unknown']}`)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a join with a good code shows no referral notice', async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'referral'],
    })
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('#join-name').fill('Dan')
    await page.locator('#join-email').fill(`dan.${Date.now()}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()
    assert.equal(await page.locator('[data-testid="referral-refused"]').count(), 0)
    await context.close()
  })

  test('the join form explains what is missing in plain words, never the schema text', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/`)
    const form = page.locator('form[data-testid="join-form"]')
    await form.waitFor()
    await form.locator('button[type="submit"]').click()
    await page.locator('#join-name-error', { hasText: STRINGS['join.error.name.required'] }).waitFor()
    assert.equal(await text(page, '#join-email-error'), STRINGS['join.error.email.required'])

    await page.locator('#join-name').fill('Ada')
    await page.locator('#join-email').fill('ada@')
    await form.locator('button[type="submit"]').click()
    await page.locator('#join-email-error', { hasText: STRINGS['join.error.email.invalid'] }).waitFor()
    assert.equal(await text(page, '#join-name-error'), '')

    // Only invisible characters: the server refuses the name, and its refusal is worded by the page.
    await page.locator('#join-name').fill('\u200b\u200b')
    await page.locator('#join-email').fill(`zw.${Date.now()}@example.org`)
    await form.locator('button[type="submit"]').click()
    await page.locator('#join-name-error', { hasText: STRINGS['join.error.name.invalid'] }).waitFor()
    const all = await text(page, 'form[data-testid="join-form"]')
    assert.doesNotMatch(all, /must NOT|must match|Request body is invalid/)
    await context.close()
  })

  test('without a translation provider a language switch asks once, says so, and keeps lang', async () => {
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/`)
    const asked: string[] = []
    const answers: number[] = []
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/translate') asked.push(r.method())
    })
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/api/translate') answers.push(r.status())
    })
    await page.locator('[data-testid="active-users"]').waitFor()
    const switcher = page.locator('[data-testid="language-switcher"]')

    await switcher.selectOption('es')
    await page.locator('#lang-status', { hasText: STRINGS['lang.unavailable'] }).waitFor()
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
    assert.equal(await page.locator('h1').textContent(), STRINGS['hero.title'])
    assert.ok(asked.length >= 1 && asked.length <= 2, `${asked.length} translate requests`)
    assert.ok(
      answers.every((s) => s === 503),
      `answers ${answers}`,
    )
    const afterFirst = asked.length

    // Back to English: nothing to say; Spanish again: still unavailable, and nothing sent again.
    await switcher.selectOption('en')
    await page.waitForFunction(() => document.getElementById('lang-status')?.textContent === '')
    await switcher.selectOption('es')
    await page.locator('#lang-status', { hasText: STRINGS['lang.unavailable'] }).waitFor()
    await switcher.selectOption('ja')
    await page.locator('#lang-status', { hasText: STRINGS['lang.unavailable'] }).waitFor()
    assert.equal(asked.length, afterFirst)
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
    assert.doesNotMatch(await text(page, '#lang-status'), /Partly/)
    await context.close()
  })

  /** A page whose guest session is answered only when `release` is called. */
  async function pageWithHeldSession(url: string) {
    const context = await suite.browser.newContext(DESKTOP)
    const page = await context.newPage()
    let release!: () => void
    const released = new Promise<void>((r) => {
      release = r
    })
    await page.route('**/api/session', async (route) => {
      await released
      await route.continue()
    })
    await page.goto(url)
    return { context, page, release }
  }

  test("a join sent before the guest session exists waits for it, so that session never takes the joined person's place", async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'referral'],
    })
    const { context, page, release } = await pageWithHeldSession(`${suite.server.baseUrl}/c/${slug}`)
    const order: string[] = []
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname
      if (path === '/api/session' || path === '/api/user/register') order.push(path)
    })
    await page.locator('#join-name').fill('Eve Early')
    await page.locator('#join-email').fill(`eve.${Date.now()}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    release()
    await page.locator('[data-testid="referral-card"]').waitFor()
    // Had the join gone first, the guest session answering after it would have replaced the
    // joined person's token: the visitor would look joined and act as a guest.
    const { token, user } = await page.evaluate(() => ({
      token: localStorage.getItem('ovasabi.token') ?? '',
      user: JSON.parse(localStorage.getItem('ovasabi.user') ?? '{}') as { id?: string },
    }))
    const subject = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub
    assert.equal(String(subject), String(user.id))
    assert.deepEqual(order.slice(-1), ['/api/user/register'])
    await context.close()
  })

  test('a language switch before the guest session exists waits for it instead of being refused', async () => {
    // The session answer is held until the visitor has switched: the switch comes first.
    const { context, page, release } = await pageWithHeldSession(`${suite.server.baseUrl}/`)
    const answers: number[] = []
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/api/translate') answers.push(r.status())
    })
    await page.locator('[data-testid="language-switcher"]').selectOption('es')
    release()
    await page.locator('#lang-status', { hasText: STRINGS['lang.unavailable'] }).waitFor()
    assert.ok(answers.length >= 1, 'the translation was asked for')
    assert.deepEqual(
      answers.filter((s) => s !== 503),
      [],
      'no translate request went out without the session',
    )
    await context.close()
  })

  test("without a provider the campaign's own catalog still translates the strings it has", async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'translation'],
    })
    const put = await suite.server.app.inject({
      method: 'PUT',
      url: `/api/campaign/${slug}/catalog`,
      headers: adminHeaders,
      // One entry by the page's key, one by its English text (how the server matches them too).
      payload: {
        'hero.title': { en: STRINGS['hero.title'], es: 'Campañas en vivo, sin esperas' },
        join_cta: { en: STRINGS['join.title'], 'es-MX': 'Únete' },
      },
    })
    assert.equal(put.statusCode, 200, put.body)
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    const translateCalls: string[] = []
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/translate') translateCalls.push(r.url())
    })
    await page.locator('[data-testid="active-users"]').waitFor()
    await page.locator('[data-testid="language-switcher"]').selectOption('es')
    await page.locator('#lang-status', { hasText: STRINGS['lang.unavailable'] }).waitFor()
    assert.equal(await page.locator('h1').textContent(), 'Campañas en vivo, sin esperas')
    assert.equal(await text(page, '#join-title'), 'Únete')
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'es')
    // The provider is known to be missing: one probe, then only the catalog read.
    assert.ok(translateCalls.length <= 2, `${translateCalls.length} translate requests`)
    await context.close()
  })

  test('a campaign without presence shows no live count (none would ever come)', async () => {
    const { context, page, problems } = await openCampaignPage(suite.server, suite.browser, [
      'registration',
      'quote',
    ])
    // Its features are read: the join form stays, the referral panels went.
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await page.locator('.live-pill').count(), 0)
    assert.equal(await page.locator('[data-testid="active-users"]').count(), 0)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a failed upload says why in one sentence, and a new file starts afresh', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'media'] })
    const context = await suite.browser.newContext(DESKTOP)
    const { page } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    const form = page.locator('form[data-testid="media-form"]')
    await form.waitFor()
    // The socket is up, so the `media_event`s of the upload reach the page too.
    await page.waitForFunction(() =>
      /^\d+$/.test(document.querySelector('[data-testid="active-users"]')?.textContent ?? ''),
    )
    await page.locator('#media-file').setInputFiles({
      name: 'fake.png',
      mimeType: 'image/png',
      buffer: Buffer.from('this is not a png at all'),
    })
    await form.locator('button[type="submit"]').click()
    await page.locator('[data-testid="upload-status"][data-status="failed"]').waitFor()
    await page
      .locator('[data-testid="upload-error"]', { hasText: STRINGS['media.reason.type_mismatch'] })
      .waitFor()
    const said = await text(page, 'form[data-testid="media-form"]')
    assert.doesNotMatch(said, /type_mismatch|MEDIA_TYPE_MISMATCH|\d+%/)
    assert.equal(await text(page, '[data-testid="upload-status"]'), `fake.png: ${STRINGS['media.failed']}`)

    // Another file chosen: nothing said about the last one is left.
    await page.locator('#media-file').setInputFiles({
      name: 'next.png',
      mimeType: 'image/png',
      buffer: Buffer.from('still not a png'),
    })
    await page.waitForFunction(() => !document.querySelector('[data-testid="upload-error"]'))
    assert.equal(await page.locator('[data-testid="upload-status"]').getAttribute('data-status'), null)
    assert.doesNotMatch(await text(page, '[data-testid="upload-status"]'), /fake\.png/)
    await context.close()
  })

  test('an unknown campaign shows only that, with no features and no socket', async () => {
    const slug = uniqueSlug('missing')
    const context = await suite.browser.newContext(DESKTOP)
    const page = await context.newPage()
    const sockets: string[] = []
    page.on('websocket', (ws) => sockets.push(ws.url()))
    await page.goto(`${suite.server.baseUrl}/c/${slug}`, { waitUntil: 'domcontentloaded' })
    await page.locator('[data-testid="campaign-missing"]', { hasText: STRINGS['campaign.missing'] }).waitFor()
    assert.match(await text(page, '[data-testid="campaign-missing"]'), new RegExp(slug))
    for (const selector of [
      'form[data-testid="join-form"]',
      'form[data-testid="quote-form"]',
      '.live-pill',
      '.topnav a',
      '.hero-cta a',
      '.features',
      '[data-testid="media-form"]',
    ]) {
      assert.equal(await page.locator(selector).count(), 0, selector)
    }
    // The chrome stays: the brand and the language switcher.
    assert.equal(await page.locator('[data-testid="language-switcher"]').count(), 1)
    assert.deepEqual(sockets, [])
    await context.close()
  })
})
