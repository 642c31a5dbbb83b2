import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { STRINGS } from '../../web/src/site/strings.js'
import { adminHeaders, createCampaign } from '../helper.js'
import { DESKTOP, openPage, serverAndBrowser } from './harness.js'

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim()

const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '')

/** Counts the page's `POST /api/quote` requests. */
function countQuotes(page: Page): { readonly n: number } {
  const seen = { n: 0 }
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/quote') seen.n++
  })
  return seen
}

/** The lead form as a demanding visitor meets it: what it says, where focus goes, what it sends. */
describe('campaign site lead form in Chromium (QA 24)', () => {
  const suite = serverAndBrowser()

  async function quotePage() {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote'] })
    const context = await suite.browser.newContext(DESKTOP)
    context.setDefaultTimeout(15_000)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    return { context, page, problems, form: page.locator('form[data-testid="quote-form"]') }
  }

  test('an empty lead form says what is missing next to each field, in plain words, and focuses the first', async () => {
    const { context, page, problems, form } = await quotePage()
    const quotes = countQuotes(page)
    await form.locator('button[type="submit"]').click()
    await page.locator('#quote-name-error', { hasText: STRINGS['join.error.name.required'] }).waitFor()
    assert.equal(await text(page, '#quote-email-error'), STRINGS['join.error.email.required'])
    assert.equal(await focusedId(page), 'quote-name')
    assert.equal(await page.locator('#quote-name').getAttribute('aria-invalid'), 'true')
    // Nothing worth sending: no request, and no summary repeating the fields' errors.
    assert.equal(quotes.n, 0)
    assert.equal(await form.locator('.notice[role="alert"]').count(), 0)

    await page.locator('#quote-name').fill('Ada')
    await page.locator('#quote-email').fill('ada@')
    await form.locator('button[type="submit"]').click()
    await page.locator('#quote-email-error', { hasText: STRINGS['join.error.email.invalid'] }).waitFor()
    assert.equal(await text(page, '#quote-name-error'), '')
    assert.equal(await focusedId(page), 'quote-email')
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('a field the server refuses is worded by the page next to it, with no developer text or summary', async () => {
    const { context, page, form } = await quotePage()
    await page.locator('#quote-name').fill('Ada')
    await page.locator('#quote-email').fill(`ada.${Date.now()}@example.org`)
    // A control character: the server refuses the message (the page has no way to tell first).
    await page.locator('#quote-message').fill('We launch\u0007 next week')
    await form.locator('button[type="submit"]').click()
    await page.locator('#quote-message-error', { hasText: STRINGS['quote.error.message.invalid'] }).waitFor()
    const all = await text(page, 'form[data-testid="quote-form"]')
    assert.doesNotMatch(all, /must |Request body is invalid/)
    assert.equal(await form.locator('.notice[role="alert"]').count(), 0)
    // The field takes the focus once the server's answer is shown, which may be a render later on
    // a loaded host: waited for, then checked.
    await page
      .waitForFunction(() => document.activeElement?.id === 'quote-message', undefined, { timeout: 10_000 })
      .catch(() => {})
    assert.equal(await focusedId(page), 'quote-message')
    await context.close()
  })

  test('two submits in one moment (a double click, a repeated Enter) send the lead once', async () => {
    const { context, page, form } = await quotePage()
    const quotes = countQuotes(page)
    await page.locator('#quote-name').fill('Bea')
    await page.locator('#quote-email').fill(`bea.${Date.now()}@example.org`)
    await form.evaluate((f: HTMLFormElement) => {
      f.requestSubmit()
      f.requestSubmit()
    })
    await page.locator('[data-testid="quote-status"]').waitFor()
    // A second submit would have gone out before the first answer came back.
    assert.equal(quotes.n, 1)
    await context.close()
  })

  test('after a sent lead or a join, focus moves to what replaced the form', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote', 'registration'] })
    const context = await suite.browser.newContext(DESKTOP)
    context.setDefaultTimeout(15_000)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    const focusedTestId = () =>
      page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)

    await page.locator('#quote-name').fill('Eve')
    await page.locator('#quote-email').fill(`eve.${Date.now()}@example.org`)
    await page.locator('#quote-email').press('Enter')
    await page.locator('[data-testid="quote-status"]').waitFor()
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'quote-status')
    assert.equal(await focusedTestId(), 'quote-status')

    await page.locator('#join-name').fill('Eve')
    await page.locator('#join-email').fill(`eve.join.${Date.now()}@example.org`)
    await page.locator('#join-email').press('Enter')
    await page.locator('[data-testid="referral-card"]').waitFor()
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'referral-card')
    assert.equal(await focusedTestId(), 'referral-card')

    // Opened again already joined: the card does not take focus from the page's start.
    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.locator('[data-testid="referral-card"]').waitFor()
    assert.notEqual(await focusedTestId(), 'referral-card')
    assert.deepEqual(problems, [])
    await context.close()
  })
})

describe('campaign site forms after a 429 in Chromium (QA 24)', () => {
  // A small limit the page's own load fits under; the test spends the rest from the same address.
  const suite = serverAndBrowser({ env: { RATE_LIMIT_PER_MINUTE: '40' } })

  test('after 429 the submit stays disabled and nothing is sent until Retry-After has passed', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`
    const context = await suite.browser.newContext({
      ...DESKTOP,
      extraHTTPHeaders: { 'x-forwarded-for': ip },
    })
    context.setDefaultTimeout(15_000)
    const { page } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    const form = page.locator('form[data-testid="quote-form"]')
    await page.locator('#quote-name').fill('Cy')
    await page.locator('#quote-email').fill(`cy.${Date.now()}@example.org`)
    // The rest of this minute's allowance, spent by the same client network.
    let status = 0
    for (let i = 0; i < 100 && status !== 429; i++) {
      const res = await fetch(`${suite.server.baseUrl}/c/${slug}`, { headers: { 'x-forwarded-for': ip } })
      await res.arrayBuffer()
      status = res.status
    }
    assert.equal(status, 429)

    const quotes = countQuotes(page)
    const submit = form.locator('button[type="submit"]')
    await submit.click()
    const notice = form.locator('.notice[role="alert"]')
    await notice.waitFor()
    assert.match((await notice.textContent()) ?? '', /try again in \d+ seconds/)
    assert.equal(await submit.isDisabled(), true)
    // Submitted anyway (a script, Enter on an assistive tool): nothing goes out while the wait runs.
    await form.evaluate((f: HTMLFormElement) => f.requestSubmit())
    await page.waitForFunction(() => true)
    assert.equal(quotes.n, 1)
    assert.equal(await submit.isDisabled(), true)
    await context.close()
  })
})

describe('campaign site when its campaign closes under the open page (QA 24)', () => {
  const suite = serverAndBrowser()

  test('an archive while the page is open is said on the page, and a submit after it is told why plainly', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote'] })
    const context = await suite.browser.newContext(DESKTOP)
    context.setDefaultTimeout(15_000)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    await page.locator('.live-pill[data-state="open"]').waitFor()
    assert.equal(await page.locator('[data-testid="campaign-status"]').count(), 0)
    await page.locator('#quote-name').fill('Dee')
    await page.locator('#quote-email').fill(`dee.${Date.now()}@example.org`)

    const res = await suite.server.app.inject({
      method: 'DELETE',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode < 300, true, res.body)
    // The server closed the socket for it: the page says so instead of only going "offline".
    await page.locator('[data-testid="campaign-status"]', { hasText: 'archived' }).waitFor()
    assert.equal(await page.locator('.live-pill').getAttribute('data-state'), 'closed')

    await page.locator('form[data-testid="quote-form"] button[type="submit"]').click()
    const notice = page.locator('form[data-testid="quote-form"] .notice[role="alert"]')
    await notice.waitFor()
    const said = (await notice.textContent()) ?? ''
    assert.match(said, /This campaign is archived/)
    assert.doesNotMatch(said, new RegExp(slug))
    assert.deepEqual(problems, [])
    await context.close()
  })
})
