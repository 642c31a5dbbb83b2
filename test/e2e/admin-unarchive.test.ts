// The admin console on an archived campaign: read-only with a note saying so, a Restore button that
// unarchives it for an admin (and is refused, then hidden, for an editor's key), and a save refused
// because someone archived the campaign meanwhile turning the form read-only.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console: archived campaigns', () => {
  const suite = browserSuite()

  const signedIn = async (key: string): Promise<BrowserContext> => {
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), key)
    return context
  }
  const archive = async (slug: string) => {
    const res = await suite.server.app.inject({
      method: 'DELETE',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
  }
  const stored = async (slug: string) =>
    json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )

  test('an archived campaign is read-only with a note, and Restore makes it editable again', async () => {
    const slug = await createCampaign(suite.server.app)
    await archive(slug)
    const { page, problems } = await openPage(
      await signedIn(ADMIN_KEY),
      `${suite.server.baseUrl}/admin/c/${slug}/settings`,
    )
    const note = page.locator('[data-testid="archived-note"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /read-only/)
    assert.equal(await page.locator('#ed-title').isDisabled(), true)
    assert.equal(await page.locator('[data-testid="campaign-editor"] button[type="submit"]').count(), 0)

    await page.locator('[data-testid="restore-campaign"]').click()
    await note.waitFor({ state: 'detached' })
    const message = page.locator('[data-testid="editor-message"]')
    assert.equal(await message.getAttribute('data-tone'), 'ok', (await message.textContent()) ?? '')
    assert.equal((await stored(slug)).archived_at, null)

    // Editable again: a save goes through.
    await page.locator('#ed-title').fill('Restored and renamed')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    await page.locator('[data-testid="editor-message"]', { hasText: 'Saved.' }).waitFor()
    assert.equal((await stored(slug)).title, 'Restored and renamed')
    assert.deepEqual(problems, [])
  })

  test("an editor's key is told only an admin can restore, and the campaign stays archived", async () => {
    const slug = await createCampaign(suite.server.app)
    await archive(slug)
    const { key } = await suite.server.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })
    const { page, problems } = await openPage(
      await signedIn(key),
      `${suite.server.baseUrl}/admin/c/${slug}/settings`,
    )
    // The console knows the key is an editor's (`GET /api/auth/me`): it says so up front and offers
    // no Restore, which the server would only refuse (it offered one and told the 403 after).
    const note = page.locator('[data-testid="restore-admin-only"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /Only an admin/)
    assert.equal(await page.locator('[data-testid="restore-campaign"]').count(), 0)
    assert.notEqual((await stored(slug)).archived_at, null)
    assert.deepEqual(problems, [])
  })

  test('a save refused because the campaign was archived meanwhile turns the form read-only', async () => {
    const slug = await createCampaign(suite.server.app)
    const { page, problems } = await openPage(
      await signedIn(ADMIN_KEY),
      `${suite.server.baseUrl}/admin/c/${slug}/settings`,
    )
    await page.locator('#ed-title').waitFor()
    await archive(slug)
    await page.locator('#ed-title').fill('Too late')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), 'warn', (await message.textContent()) ?? '')
    assert.match((await message.textContent()) ?? '', /archived/)
    await page.locator('[data-testid="archived-note"]').waitFor()
    assert.equal(await page.locator('#ed-title').isDisabled(), true)
    assert.notEqual((await stored(slug)).title, 'Too late')
    assert.deepEqual(problems, [])
  })
})
