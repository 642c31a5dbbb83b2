// The campaign page's own notices in the visitor's language: the waiting room's (a scheduled
// campaign, whose strings the server now translates) and a form's 429, translated through the
// LibreTranslate-compatible test upstream ("[es] UPPER CASE", `{placeholders}` kept by the server).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCampaign } from '../helper.js'
import { openPage, screenshot } from './harness.js'
import { i18nSuite, switchTo } from './site-i18n-fixtures.js'

const LIMIT = { timeout: 90_000 }
/**
 * Requests one client address may make a minute: room for the page and its translation (one
 * request per string), so the 429 test can spend the rest itself.
 */
const PER_MINUTE = 400

describe('campaign site: its notices translated (QA 25)', () => {
  const suite = i18nSuite({ perMinute: PER_MINUTE, ipPrefix: '203.0.113.' })
  const newContext = () => suite.newContext()

  test(
    'a scheduled campaign’s waiting room reads in the chosen language, its time written that way',
    LIMIT,
    async () => {
      const startsAt = new Date(Date.now() + 3 * 24 * 3600_000).toISOString()
      const slug = await createCampaign(suite.server.app, { metadata: { scheduling: { start: startsAt } } })
      const { context } = await newContext()
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      const notice = page.locator('[data-testid="campaign-status"][data-status="scheduled"]')
      await notice.waitFor()
      assert.match((await notice.textContent()) ?? '', /^This campaign opens .+: its forms open then\.$/)

      await page.locator('[data-testid="language-switcher"]').selectOption('es')
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="campaign-status"]')?.textContent?.startsWith('[es] '),
      )
      // The time as Spanish writes it, in the visitor's zone: what Intl says for `es`, here.
      const when = await page.evaluate(
        (iso) =>
          new Intl.DateTimeFormat('es', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
        startsAt,
      )
      assert.equal(await notice.textContent(), `[es] THIS CAMPAIGN OPENS ${when}: ITS FORMS OPEN THEN.`)
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'es')
      // The rest of the page too, and nothing shows a placeholder unfilled.
      assert.match((await page.locator('h1').textContent()) ?? '', /^\[es\] /)
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /\{[a-z]+\}/)
      await screenshot(page, 'site-qa25-waiting-room-es')
      assert.deepEqual(problems, [])
    },
  )

  test(
    'a referral milestone is announced in the chosen language, the name filled in as text',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      const { context: a } = await newContext()
      const { page: pa, problems } = await openPage(a, `${suite.server.baseUrl}/c/${slug}`)
      await switchTo(pa, 'es')
      await pa.locator('#join-name').fill('Ada')
      await pa.locator('#join-email').fill(`ada.${Date.now()}@example.org`)
      await pa.locator('form[data-testid="join-form"] button[type="submit"]').click()
      const link = await pa.locator('#referral-link').inputValue()

      const { context: b } = await newContext()
      const { page: pb } = await openPage(b, link)
      await pb.locator('#join-name').fill('Charles')
      await pb.locator('#join-email').fill(`charles.${Date.now()}@example.org`)
      await pb.locator('form[data-testid="join-form"] button[type="submit"]').click()

      const toast = pa.locator('[data-testid="toast"] span:not(.toast-icon)').first()
      await toast.waitFor()
      assert.equal(await toast.textContent(), '[es] Ada NOW HAS 1 REFERRAL')
      assert.deepEqual(problems, [])
    },
  )

  test('a 429 on a form is said in the chosen language, with its wait filled in', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote', 'translation'] })
    const { context, ip } = await newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    await switchTo(page, 'es')
    const form = page.locator('form[data-testid="quote-form"]')
    await page.locator('#quote-name').fill('Lu')
    await page.locator('#quote-email').fill(`lu.${Date.now()}@example.org`)
    // The rest of this minute's allowance, spent from the page's own address.
    let status = 0
    for (let i = 0; i < PER_MINUTE && status !== 429; i++) {
      const res = await fetch(`${suite.server.baseUrl}/c/${slug}`, { headers: { 'x-forwarded-for': ip } })
      await res.arrayBuffer()
      status = res.status
    }
    assert.equal(status, 429)

    await form.locator('button[type="submit"]').click()
    const said = form.locator('.notice[role="alert"]')
    await said.waitFor()
    assert.match(
      (await said.textContent()) ?? '',
      /^\[es\] TOO MANY ATTEMPTS\. PLEASE TRY AGAIN IN (?:1 SECOND|\d+ SECONDS)\.$/,
    )
    assert.deepEqual(problems, [])
  })
})
