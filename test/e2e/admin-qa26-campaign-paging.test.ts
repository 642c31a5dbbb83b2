// The console's campaign list with more campaigns than one page holds, in Chromium: the sidebar
// and the home cards say how many there are, and every campaign is reachable page by page.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const CREATED = 203

async function slugsShown(page: Page, where: 'side' | 'cards'): Promise<string[]> {
  return where === 'side'
    ? page.locator('[data-testid="campaign-list"] .side-slug').allTextContents()
    : page.locator('[data-testid="campaign-cards"] code').allTextContents()
}

describe('admin console, campaign list paging', () => {
  const suite = browserSuite()

  test('reaches every campaign past the first page, in the sidebar and on the home page', async () => {
    const all: string[] = []
    for (let i = 0; i < CREATED; i++) all.push(await createCampaign(suite.server.app, { features: [] }))
    // The server may hold campaigns of its own (the demo): the count is what the API says.
    const listed = await suite.server.app.inject({
      method: 'GET',
      url: '/api/campaign?include_archived=true&per_page=1',
      headers: adminHeaders,
    })
    const CAMPAIGNS: number = json(listed).total
    assert.ok(CAMPAIGNS > 200 && CAMPAIGNS <= 300, String(CAMPAIGNS))

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin`)
    const side = page.locator('[data-testid="side-campaigns-pager"]')
    const home = page.locator('[data-testid="campaigns-pager"]')
    await home.getByText(`Campaigns 1–100 of ${CAMPAIGNS}`).waitFor()
    await side.getByText(`Campaigns 1–100 of ${CAMPAIGNS}`).waitFor()
    const seen = new Set<string>()
    const first = await slugsShown(page, 'cards')
    assert.equal(first.length, 100)
    assert.deepEqual(await slugsShown(page, 'side'), first, 'the sidebar lists the same page')
    for (const s of first) seen.add(s)

    await home.getByRole('button', { name: 'Next' }).click()
    await home.getByText(`Campaigns 101–200 of ${CAMPAIGNS}`).waitFor()
    for (const s of await slugsShown(page, 'cards')) seen.add(s)

    // The sidebar pages the same list.
    await side.getByRole('button', { name: 'Next' }).click()
    await side.getByText(`Campaigns 201–${CAMPAIGNS} of ${CAMPAIGNS}`).waitFor()
    const last = await slugsShown(page, 'side')
    assert.equal(last.length, CAMPAIGNS - 200)
    for (const s of last) seen.add(s)
    assert.equal(await side.getByRole('button', { name: 'Next' }).isDisabled(), true)
    assert.equal(seen.size, CAMPAIGNS, 'the pages hold every campaign, once')
    for (const slug of all) assert.ok(seen.has(slug), slug)

    // A campaign on the last page opens from the sidebar.
    await page.locator('[data-testid="campaign-list"] a', { hasText: last[0]! }).click()
    await page.locator('h1', { hasText: `Test ${last[0]}` }).waitFor()
    assert.deepEqual(problems, [])
  })
})
