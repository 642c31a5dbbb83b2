// The leads search in the admin console, in Chromium: emptying the field (Escape, or its clear
// button) shows every lead again at once, not only after the field loses focus.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, leads search', () => {
  const suite = browserSuite()

  test('Escape in the search field lifts the search', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    for (const name of ['Grace Hopper', 'Alan Turing']) {
      const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
      const sent = await suite.server.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${json(session).token}` },
        payload: { campaign: slug, name, email: 'lead@example.org', message: 'hi' },
      })
      assert.equal(sent.statusCode, 200, sent.body)
    }

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const rows = page.locator('[data-testid="leads-table"] tbody tr')
    const count = (n: number) =>
      page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="leads-table"] tbody tr').length === n,
        n,
      )
    await count(2)
    await page.locator('#lead-q').fill('grace')
    await page.locator('#lead-q').press('Enter')
    await count(1)
    assert.match((await rows.first().textContent()) ?? '', /Grace Hopper/)

    // The field keeps the focus: no change event until it loses it.
    await page.locator('#lead-q').press('Escape')
    assert.equal(await page.locator('#lead-q').inputValue(), '')
    await count(2)
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'lead-q')
    assert.deepEqual(problems, [])
  })
})
