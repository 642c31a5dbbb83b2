// The console's leads table pages by cursor (QA 30): "Next" asks for the leads after the last one
// shown (`before`), so leads arriving while an editor reads page 1 do not push page 1's last rows
// onto page 2 (by offset, page 2 began with rows already read).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, createCampaign } from '../helper.js'
import { leadSeeder } from './console-fixtures.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, the leads table pages by cursor', () => {
  const suite = browserSuite()

  const { lead, seed } = leadSeeder(suite, '198.19')

  const names = (page: Page) =>
    page.locator('[data-testid="leads-table"] tbody tr td:first-child').allTextContents()

  test('leads arriving while page 1 is read do not shift page 2', { timeout: 180_000 }, async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    await seed(slug, 102)

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const asked: URL[] = []
    page.on('request', (r) => {
      const u = new URL(r.url())
      if (u.pathname === `/api/campaign/${slug}/leads`) asked.push(u)
    })
    const pager = page.locator('[data-testid="leads-pager"]')
    await pager.getByText('Leads 1–100 of 102').waitFor()
    const first = await names(page)
    assert.equal(first.at(0), 'Lead 102')
    assert.equal(first.at(-1), 'Lead 003')

    // Two leads arrive while page 1 is on screen.
    await lead(slug, 'Lead 103')
    await lead(slug, 'Lead 104')

    await pager.getByRole('button', { name: 'Next' }).click()
    await pager.getByText('Leads 101–102 of 104').waitFor()
    assert.deepEqual(await names(page), ['Lead 002', 'Lead 001'], 'page 2 goes on from Lead 003')
    const next = asked.at(-1)!
    assert.match(next.searchParams.get('before') ?? '', /^lead_/, `asked ${next.search}`)
    assert.equal(await pager.getByRole('button', { name: 'Next' }).isDisabled(), true)

    // Back to page 1: the newest leads, the two arrivals among them.
    await pager.getByRole('button', { name: 'Previous' }).click()
    await pager.getByText('Leads 1–100 of 104').waitFor()
    assert.equal((await names(page)).at(0), 'Lead 104')
    assert.equal(asked.at(-1)!.searchParams.has('before'), false)

    // A filter starts again from its first page.
    await pager.getByRole('button', { name: 'Next' }).click()
    await pager.getByText('Leads 101–104 of 104').waitFor()
    await page.locator('#lead-status').selectOption('new')
    await pager.getByText('Leads 1–100 of 104').waitFor()
    assert.equal(asked.at(-1)!.searchParams.has('before'), false)
    assert.deepEqual(problems, [])
  })
})
