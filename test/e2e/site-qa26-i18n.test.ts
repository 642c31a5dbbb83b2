// The campaign page's last English-only words, in the visitor's language (QA 26): counted sentences
// in the plural form the shown language's rules pick, guests' cursor labels, the window title, the
// notice of a campaign that could not be read, milestone times, and a draft's refused translation
// asked once. Translated through the LibreTranslate-compatible test upstream ("[es] UPPER CASE",
// `{placeholders}` kept by the server).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { BrowserContextOptions } from 'playwright-core'
import { adminHeaders, createCampaign, uniqueSlug } from '../helper.js'
import { openPage } from './harness.js'
import { i18nSuite, switchTo } from './site-i18n-fixtures.js'

const LIMIT = { timeout: 120_000 }
/** Requests one client address may make a minute: room for a page translated twice or three times. */
const PER_MINUTE = 1000

describe('campaign site: its last English-only words translated (QA 26)', () => {
  const suite = i18nSuite({ perMinute: PER_MINUTE, ipPrefix: '198.51.100.' })
  const newContext = async (options: BrowserContextOptions = {}) => (await suite.newContext(options)).context

  test(
    'a 429’s wait reads "1 second" and "2 seconds", each language choosing its form by its own rules',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app, { features: ['quote', 'translation'] })
      // Japanese has one form for every count: an operator's catalog gives it (the test upstream
      // has no Japanese), and 1 must read that form, not the one English uses for 1.
      const put = await suite.server.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: {
          'form.error.rateLimited.one': { ja: 'ONE-FORM {seconds}' },
          'form.error.rateLimited.other': { ja: '{seconds}秒後にもう一度お試しください。' },
        },
      })
      assert.equal(put.statusCode, 200, put.body)
      const context = await newContext()
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
      // The server's 429 with the wait each case needs (its own limiter's wait is what is left of
      // its minute, which a test cannot choose).
      let wait = 1
      await page.route('**/api/quote', (route) =>
        route.request().method() === 'POST'
          ? route.fulfill({
              status: 429,
              headers: { 'content-type': 'application/json', 'retry-after': String(wait) },
              body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } }),
            })
          : route.continue(),
      )
      const form = page.locator('form[data-testid="quote-form"]')
      await page.locator('#quote-name').fill('Lu')
      await page.locator('#quote-email').fill(`lu.${Date.now()}@example.org`)
      const said = form.locator('.notice[role="alert"]')
      const submit = form.locator('button[type="submit"]')
      /** The notice a 429 with `seconds` to wait shows, once the last one's wait is over. */
      const refusal = async (seconds: number) => {
        await page.waitForFunction(() => {
          const b = document.querySelector<HTMLButtonElement>(
            'form[data-testid="quote-form"] button[type="submit"]',
          )
          return (
            b &&
            !b.disabled &&
            !document.querySelector('form[data-testid="quote-form"] .notice[role="alert"]')
          )
        })
        wait = seconds
        await submit.click()
        await said.waitFor()
        return said.textContent()
      }

      assert.equal(await refusal(1), 'Too many attempts. Please try again in 1 second.')
      assert.equal(await refusal(2), 'Too many attempts. Please try again in 2 seconds.')
      await switchTo(page, 'es')
      assert.equal(await refusal(1), '[es] TOO MANY ATTEMPTS. PLEASE TRY AGAIN IN 1 SECOND.')
      assert.equal(await refusal(2), '[es] TOO MANY ATTEMPTS. PLEASE TRY AGAIN IN 2 SECONDS.')

      await page.locator('[data-testid="language-switcher"]').selectOption('ja')
      await page.waitForFunction(() => document.documentElement.lang === 'ja')
      await page.waitForFunction(() => document.getElementById('lang-status')?.textContent !== '…')
      assert.equal(await refusal(1), '1秒後にもう一度お試しください。')
      assert.deepEqual(problems, [])
    },
  )

  test('a guest’s cursor is labelled in the chosen language, and reworded on a switch', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, { metadata: { scheduling: { frequency: 10 } } })
    const { page: pa } = await openPage(await newContext(), `${suite.server.baseUrl}/c/${slug}`)
    const { page: pb, problems } = await openPage(await newContext(), `${suite.server.baseUrl}/c/${slug}`)
    await pa.locator('h1').waitFor()
    const cursor = pb.locator('[data-cursor-id]').first()
    for (let i = 0; !(await cursor.count()); i++) {
      assert.ok(i < 200, 'B never saw A’s cursor')
      await pa.mouse.move(200 + (i % 40) * 10, 300 + (i % 7) * 5)
      await pa.waitForTimeout(50)
    }
    const id = (await cursor.getAttribute('data-cursor-id')) ?? ''
    const label = cursor.locator('.remote-cursor-label')
    assert.equal(await label.textContent(), `Guest ${id.slice(-4)}`)

    await switchTo(pb, 'es')
    await pb.waitForFunction(
      () => document.querySelector('.remote-cursor-label')?.textContent?.startsWith('[es] '),
      undefined,
      { timeout: 20_000 },
    )
    assert.equal(await label.textContent(), `[es] GUEST ${id.slice(-4)}`)
    assert.deepEqual(problems, [])
  })

  test(
    'the window title reads in the chosen language, the campaign’s title kept as written',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      const { page, problems } = await openPage(await newContext(), `${suite.server.baseUrl}/c/${slug}`)
      await page.waitForFunction((t) => document.title === t, `Test ${slug}: live campaigns`)
      await switchTo(page, 'es')
      await page.waitForFunction((t) => document.title === t, `[es] Test ${slug}: LIVE CAMPAIGNS`)
      await page.locator('[data-testid="language-switcher"]').selectOption('en')
      await page.waitForFunction((t) => document.title === t, `Test ${slug}: live campaigns`)
      assert.deepEqual(problems, [])
    },
  )

  test(
    'a campaign that could not be read says so in the page’s words, in the browser’s language',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      /** The page, its campaign's read answered 500 (the rest of the server as it is). */
      const failing = async (options: BrowserContextOptions) => {
        const context = await newContext(options)
        await context.route(`**/api/campaign/${slug}`, (route) =>
          route.request().method() === 'GET'
            ? route.fulfill({
                status: 500,
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'Internal Server Error' } }),
              })
            : route.continue(),
        )
        return openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      }

      const en = await failing({ locale: 'en-US' })
      const notice = en.page.locator('[role="alert"][data-tone="danger"]')
      await notice.waitFor()
      assert.equal(
        await notice.textContent(),
        'This campaign could not be loaded. Please reload the page to try again.',
      )

      const es = await failing({ locale: 'es-ES' })
      await es.page.waitForFunction(() =>
        document.querySelector('[role="alert"][data-tone="danger"]')?.textContent?.startsWith('[es] '),
      )
      assert.equal(
        await es.page.locator('[role="alert"][data-tone="danger"]').textContent(),
        '[es] THIS CAMPAIGN COULD NOT BE LOADED. PLEASE RELOAD THE PAGE TO TRY AGAIN.',
      )
      assert.equal(await es.page.evaluate(() => document.documentElement.lang), 'es')
      assert.equal(await es.page.locator('[data-testid="language-switcher"]').inputValue(), 'es')
    },
  )

  test('a milestone’s time is written as the shown language writes times', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const { page: pa, problems } = await openPage(await newContext(), `${suite.server.baseUrl}/c/${slug}`)
    await switchTo(pa, 'de')
    await pa.locator('#join-name').fill('Ada')
    await pa.locator('#join-email').fill(`ada.${Date.now()}@example.org`)
    await pa.locator('form[data-testid="join-form"] button[type="submit"]').click()
    const link = await pa.locator('#referral-link').inputValue()

    const { page: pb } = await openPage(await newContext(), link)
    await pb.locator('#join-name').fill('Charles')
    await pb.locator('#join-email').fill(`charles.${Date.now()}@example.org`)
    await pb.locator('form[data-testid="join-form"] button[type="submit"]').click()

    const time = pa.locator('[data-testid="milestone-feed"] .feed-item:not(.feed-gap) time').first()
    await time.waitFor()
    // The browser's own locale (en-US) writes "07:05 PM"; German writes no AM or PM.
    assert.doesNotMatch((await time.textContent()) ?? '', /AM|PM/)
    const at = await time.getAttribute('datetime')
    assert.ok(at && !Number.isNaN(Date.parse(at)), `a machine-readable time: ${at}`)
    /** What Intl writes for `lang`, in the browser's zone. */
    const written = (lang: string) =>
      pa.evaluate(
        ([l, iso]) =>
          new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit' }).format(new Date(iso!)),
        [lang, at] as const,
      )
    const de = await written('de')
    assert.equal(await time.textContent(), de)
    // The browser's own locale (en-US) writes it otherwise: the page did not use it.
    assert.notEqual(await written('en-US'), de)

    await pa.locator('[data-testid="language-switcher"]').selectOption('en')
    await pa.waitForFunction(() => document.documentElement.lang === 'en')
    assert.equal(await time.textContent(), await written('en'))
    assert.deepEqual(problems, [])
  })

  test('a draft refusing translation is asked once per language, not once per string', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, { draft: true })
    const { page, problems } = await openPage(await newContext(), `${suite.server.baseUrl}/c/${slug}`)
    const asked: string[] = []
    page.on('request', (r) => {
      if (r.url().endsWith('/api/translate') && r.method() === 'POST') asked.push(r.postDataJSON()?.target)
    })
    await page.locator('[data-testid="campaign-missing"]').waitFor()
    const status = page.locator('#lang-status')
    const choose = async (lang: string) => {
      await page.locator('[data-testid="language-switcher"]').selectOption(lang)
      await page.waitForFunction(() => document.getElementById('lang-status')?.textContent !== '…')
    }

    await choose('es')
    assert.deepEqual(asked, ['es'])
    assert.equal(await status.textContent(), 'Translation unavailable')
    // Chosen again: the refusal is remembered, nothing is sent.
    await choose('en')
    await choose('es')
    assert.equal(await status.textContent(), 'Translation unavailable')
    // Another language is asked (once) in its turn.
    await choose('fr')
    assert.equal(await status.textContent(), 'Translation unavailable')
    assert.deepEqual(asked, ['es', 'fr'])
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
    assert.deepEqual(problems, [])
  })

  test(
    'an unknown campaign’s page asks one string per language, and says it in the browser’s language',
    LIMIT,
    async () => {
      const slug = uniqueSlug('missing')
      // A returning Spanish visitor: the page's strings translated on an earlier visit, kept.
      const warm = await createCampaign(suite.server.app)
      const context = await newContext({ locale: 'es-ES' })
      const { page: first } = await openPage(context, `${suite.server.baseUrl}/c/${warm}`)
      await switchTo(first, 'es')
      await first.close()

      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      const asked: string[] = []
      page.on('request', (r) => {
        if (r.url().endsWith('/api/translate') && r.method() === 'POST') asked.push(r.postDataJSON()?.target)
      })
      await page.locator('[data-testid="campaign-missing"]').waitFor()
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="campaign-missing"]')?.textContent?.startsWith('[es] '),
      )
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'es')
      assert.deepEqual(asked, [], 'every string was cached')

      // A language not cached: the unknown campaign's 404 is its answer for every string.
      await page.locator('[data-testid="language-switcher"]').selectOption('fr')
      await page.waitForFunction(() => document.getElementById('lang-status')?.textContent !== '…')
      assert.deepEqual(asked, ['fr'])
      await page.locator('[data-testid="language-switcher"]').selectOption('es')
      await page.locator('[data-testid="language-switcher"]').selectOption('fr')
      await page.waitForFunction(() => document.getElementById('lang-status')?.textContent !== '…')
      assert.equal(await page.locator('#lang-status').textContent(), 'Translation unavailable')
      assert.deepEqual(asked, ['fr'])
      assert.deepEqual(problems, [])
    },
  )
})
