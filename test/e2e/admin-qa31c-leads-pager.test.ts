// The console's leads table pages by cursor (QA 30), and QA 31 found two ends it took wrong: a
// last page exactly full let "Next" lead to an empty page once leads had arrived after page 1 was
// read (they count in `total`, yet come before page 1), and a cursor whose lead is no longer the
// campaign's (400 `INVALID_CURSOR`) left the table in an error state instead of page 1.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, createCampaign } from '../helper.js'
import { leadSeeder } from './console-fixtures.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, the ends of the leads pager', () => {
  const suite = browserSuite()

  const { lead, seed } = leadSeeder(suite, '198.18')

  const names = (page: Page) =>
    page.locator('[data-testid="leads-table"] tbody tr td:first-child').allTextContents()

  async function leadsPage(slug: string) {
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    return openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
  }

  test('a last page exactly full has no "Next", though leads arrived since page 1', {
    timeout: 300_000,
  }, async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    await seed(slug, 200)
    const { page, problems } = await leadsPage(slug)
    const pager = page.locator('[data-testid="leads-pager"]')
    await pager.getByText('Leads 1–100 of 200').waitFor()

    // One arrives while page 1 is on screen: 201 in all, yet page 2 is the last (it goes on from
    // page 1's last lead, and the arrival comes before page 1).
    await lead(slug, 'Lead 201')
    await pager.getByRole('button', { name: 'Next' }).click()
    await pager.getByText('Leads 101–200 of 201').waitFor()
    const second = await names(page)
    assert.equal(second.length, 100)
    assert.equal(second.at(0), 'Lead 100')
    assert.equal(second.at(-1), 'Lead 001')
    assert.equal(await pager.getByRole('button', { name: 'Next' }).isDisabled(), true)
    assert.equal(await pager.getByRole('button', { name: 'Previous' }).isDisabled(), false)
    assert.deepEqual(problems, [])
  })

  test("a page whose cursor's lead is gone goes back to page 1, said so", { timeout: 300_000 }, async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    await seed(slug, 102)
    const { page, problems } = await leadsPage(slug)
    const pager = page.locator('[data-testid="leads-pager"]')
    await pager.getByText('Leads 1–100 of 102').waitFor()
    const asked: URL[] = []
    page.on('request', (r) => {
      const u = new URL(r.url())
      if (u.pathname === `/api/campaign/${slug}/leads`) asked.push(u)
    })
    await pager.getByRole('button', { name: 'Next' }).click()
    await pager.getByText('Leads 101–102 of 102').waitFor()
    const cursor = asked.at(-1)!.searchParams.get('before')
    assert.match(cursor ?? '', /^lead_/)

    // The lead page 2 goes on from leaves the database (as a restore or a manual purge would).
    await suite.server.app.platform.database.db
      .deleteFrom('service_quote_main')
      .where('campaign_slug', '=', slug)
      .where('id', '=', cursor!)
      .execute()
    // A status change reloads page 2 with that cursor: refused 400 INVALID_CURSOR.
    await page.locator('[data-testid="leads-table"] tbody tr').first().locator('select').selectOption('won')
    const notice = page.locator('[data-testid="leads-message"]')
    await notice.getByText('The lead that page went on from is gone: back to the first page.').waitFor()
    assert.equal(await notice.getAttribute('role'), 'status')
    await pager.getByText('Leads 1–100 of 101').waitFor()
    assert.equal((await names(page)).at(0), 'Lead 102')
    assert.equal(await page.locator('[role="alert"]').count(), 0, 'no error state')
    assert.equal(asked.at(-1)!.searchParams.has('before'), false)
    assert.deepEqual(problems, [])
  })
})
