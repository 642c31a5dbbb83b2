// The admin console signed in with an editor's API key, in Chromium: what only an admin may use
// (webhooks, erasing a lead, archiving, the service graph) is not shown, and an address that leads
// to it says who may use it instead of the server's raw FORBIDDEN. An admin's key still sees all.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe("admin console, an editor's key", () => {
  const suite = browserSuite()

  async function campaignWithLead(name: string): Promise<string> {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const sent = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}` },
      payload: { campaign: slug, name, email: 'role@example.org', message: 'hi' },
    })
    assert.equal(sent.statusCode, 200, sent.body)
    return slug
  }

  async function signedIn(key: string, path: string): Promise<{ page: Page; problems: string[] }> {
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), key)
    return openPage(context, `${suite.server.baseUrl}${path}`)
  }

  const bodyText = async (page: Page) => (await page.locator('body').textContent()) ?? ''

  test('admin-only tabs, buttons and pages are not shown; their addresses say why', async () => {
    const slug = await campaignWithLead('Role Reader')
    const { key } = await suite.server.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })
    const { page, problems } = await signedIn(key, `/admin/c/${slug}/leads`)
    const row = page.locator('[data-testid="leads-table"] tbody tr', { hasText: 'Role Reader' })
    await row.waitFor()
    // The key's role is known once the sidebar's platform links settle: Streams wall is for all.
    await page.locator('.sidebar a', { hasText: 'Streams wall' }).waitFor()
    await page.waitForFunction(() => document.querySelector('[data-testid="campaign-list"]')?.children.length)
    const tabs = await page.locator('nav.tabs a').allTextContents()
    assert.deepEqual(tabs, ['Dashboard', 'Settings', 'Leads'], 'no Webhooks tab')
    assert.equal(await page.locator('.sidebar a', { hasText: 'Service graph' }).count(), 0)
    assert.equal(await row.getByRole('button', { name: /Eras/ }).count(), 0, 'no Erase button')

    await page.locator('nav.tabs a', { hasText: 'Settings' }).click()
    await page.locator('[data-testid="campaign-editor"]').waitFor()
    assert.equal(await page.locator('[data-testid="archive-campaign"]').count(), 0, 'no Archive button')

    // Typed or bookmarked addresses of admin-only pages.
    for (const path of [`/admin/c/${slug}/webhooks`, '/admin/graph']) {
      const { page: other, problems: more } = await signedIn(key, path)
      const note = other.locator('[data-testid="admin-only"]')
      await note.waitFor()
      assert.match((await note.textContent()) ?? '', /for admins/)
      assert.equal((await bodyText(other)).includes('FORBIDDEN'), false, path)
      assert.deepEqual(more, [])
    }
    assert.deepEqual(problems, [])
  })

  test("an admin's key still sees them", async () => {
    const slug = await campaignWithLead('Admin Reader')
    const { page, problems } = await signedIn(ADMIN_KEY, `/admin/c/${slug}/leads`)
    const row = page.locator('[data-testid="leads-table"] tbody tr', { hasText: 'Admin Reader' })
    await row.getByRole('button', { name: 'Erase' }).waitFor()
    await page.locator('nav.tabs a', { hasText: 'Webhooks' }).waitFor()
    await page.locator('.sidebar a', { hasText: 'Service graph' }).waitFor()
    await page.locator('nav.tabs a', { hasText: 'Webhooks' }).click()
    await page.locator('[data-testid="webhook-form"]').waitFor()
    assert.equal(await page.locator('[data-testid="admin-only"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})
