// Erasing a lead in the admin console, in Chromium: while the erase is on its way the button
// waits, so a second click neither asks again nor sends a second erase.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Route } from 'playwright-core'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, erasing a lead', () => {
  const suite = browserSuite()

  test('one confirmation and one erase, however often the button is clicked', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const sent = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}` },
      payload: { campaign: slug, name: 'Erase Once', email: 'once@example.org', message: 'hi' },
    })
    assert.equal(sent.statusCode, 200, sent.body)

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    let dialogs = 0
    page.on('dialog', (d) => {
      dialogs++
      void d.accept()
    })
    // The erase is held until the second click has been tried.
    const held: Route[] = []
    let arrived: () => void = () => {}
    const first = new Promise<void>((r) => {
      arrived = r
    })
    await page.route(`**/api/campaign/${slug}/leads/*`, (route) => {
      if (route.request().method() !== 'DELETE') return route.continue()
      held.push(route)
      arrived()
    })
    const row = page.locator('[data-testid="leads-table"] tbody tr', { hasText: 'Erase Once' })
    const button = row.getByRole('button', { name: /Eras/ })
    await button.click()
    await first
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid="leads-table"] tbody tr button') as HTMLButtonElement)
          ?.disabled,
    )
    await button.click({ force: true })
    for (const r of held.splice(0)) await r.continue()

    await page.locator('[data-testid="leads-message"]', { hasText: 'was erased' }).waitFor()
    await row
      .locator('.muted', { hasText: 'erased' })
      .waitFor()
      .catch(() => {})
    assert.equal(dialogs, 1, 'asked once')
    assert.equal(held.length, 0, 'no second erase was sent')
    assert.deepEqual(problems, [])
  })
})
