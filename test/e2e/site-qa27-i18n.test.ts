// The campaign page's memory of "translation unavailable" (QA 27): one campaign whose translation
// feature is off (403 `FEATURE_DISABLED`) must not stop another campaign's page on the same origin
// from translating; the refusal is remembered for that campaign alone.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createCampaign } from '../helper.js'
import { openPage } from './harness.js'
import { i18nSuite, switchTo } from './site-i18n-fixtures.js'

const LIMIT = { timeout: 120_000 }

describe('campaign site: a campaign’s refused translation is remembered for that campaign (QA 27)', () => {
  const suite = i18nSuite({ perMinute: 1000, ipPrefix: '192.0.2.' })

  /** The `target` of every `/api/translate` the page sends. */
  const record = (page: Page) => {
    const asked: string[] = []
    page.on('request', (r) => {
      if (r.url().endsWith('/api/translate') && r.method() === 'POST') asked.push(r.postDataJSON()?.target)
    })
    return asked
  }

  test(
    'a campaign without translation does not stop another campaign’s page translating',
    LIMIT,
    async () => {
      const off = await createCampaign(suite.server.app, { features: ['quote'] })
      const on = await createCampaign(suite.server.app)
      const { context } = await suite.newContext()

      const { page: first, problems } = await openPage(context, `${suite.server.baseUrl}/c/${off}`)
      const askedOff = record(first)
      await first.locator('h1').waitFor()
      await first.locator('[data-testid="language-switcher"]').selectOption('es')
      await first.waitForFunction(
        () => document.getElementById('lang-status')?.textContent === 'Translation unavailable',
      )
      assert.deepEqual(askedOff, ['es'], 'one string asked, then the refusal believed')
      await first.close()

      // The same origin, another campaign: it translates.
      const { page: second } = await openPage(context, `${suite.server.baseUrl}/c/${on}`)
      const askedOn = record(second)
      await switchTo(second, 'es')
      assert.ok(askedOn.length > 0, 'the other campaign’s strings were asked for')
      assert.equal(await second.evaluate(() => document.documentElement.lang), 'es')
      await second.close()

      // The refusing campaign's page, opened again (French not cached): its refusal is remembered.
      const { page: again } = await openPage(context, `${suite.server.baseUrl}/c/${off}`)
      const askedAgain = record(again)
      await again.locator('h1').waitFor()
      await again.locator('[data-testid="language-switcher"]').selectOption('fr')
      await again.waitForFunction(
        () => document.getElementById('lang-status')?.textContent === 'Translation unavailable',
      )
      assert.deepEqual(askedAgain, [], 'nothing asked of a campaign that refused a moment ago')
      assert.deepEqual(problems, [])
    },
  )
})
