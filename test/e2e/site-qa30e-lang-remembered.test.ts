// The campaign page remembers the visitor's language (QA 30): chosen once in the switcher, it is
// the page's language after a reload and on the origin's other campaign pages; `?lang=` in a link
// shows that language and, once the visitor picks another, says the new one.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createCampaign } from '../helper.js'
import { openPage } from './harness.js'
import { i18nSuite, switchTo } from './site-i18n-fixtures.js'

const LIMIT = { timeout: 120_000 }

/** The page shown in `lang`: the switcher says it, `<html lang>` too, the heading is translated. */
async function shownIn(page: Page, lang: string) {
  await page.waitForFunction((l) => document.querySelector('h1')?.textContent?.startsWith(`[${l}] `), lang)
  assert.equal(await page.locator('[data-testid="language-switcher"]').inputValue(), lang)
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang)
}

describe('campaign site: the chosen language is remembered (QA 30)', () => {
  const suite = i18nSuite({ perMinute: 1000, ipPrefix: '198.51.100.' })

  test(
    'a language chosen in the switcher is the page’s after a reload and on another campaign',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      const other = await createCampaign(suite.server.app)
      const { context } = await suite.newContext()
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      await switchTo(page, 'es')
      await page.reload()
      await shownIn(page, 'es')

      const { page: second } = await openPage(context, `${suite.server.baseUrl}/c/${other}`)
      await shownIn(second, 'es')

      // Back to English: remembered as well.
      await page.locator('[data-testid="language-switcher"]').selectOption('en')
      await page.reload()
      await page.locator('h1').waitFor()
      await page.waitForFunction(() => document.getElementById('lang-status')?.textContent === '')
      assert.equal(await page.locator('[data-testid="language-switcher"]').inputValue(), 'en')
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
      assert.deepEqual(problems, [])
    },
  )

  test('?lang= in a link wins over the remembered choice, and follows the switcher', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const { context } = await suite.newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await switchTo(page, 'es')

    await page.goto(`${suite.server.baseUrl}/c/${slug}?lang=fr`)
    await shownIn(page, 'fr')
    // The visitor picks German: the address says so, so a reload (or a copied link) keeps it.
    await switchTo(page, 'de')
    assert.equal(new URL(page.url()).searchParams.get('lang'), 'de')
    await page.reload()
    await shownIn(page, 'de')

    // A language the page does not offer is no choice: the remembered one shows.
    await page.goto(`${suite.server.baseUrl}/c/${slug}?lang=xx`)
    await shownIn(page, 'de')
    assert.deepEqual(problems, [])
  })
})
