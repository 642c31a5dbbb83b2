// The admin console's conditional campaign changes: Archive and Restore send `If-Match` with the
// version shown, so a campaign changed through the API meanwhile is not archived (or restored)
// blind: the console says so and offers to load the current version, as a stale save does. The
// removal of a metadata key goes through the console's client: a revoked key returns to the login.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { adminHeaders, createCampaign } from '../helper.js'
import { storedCampaign } from '../campaign-fixtures.js'
import { openSettings } from './console-fixtures.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console: archive and restore on the version shown', () => {
  const suite = browserSuite()

  const stored = (slug: string) => storedCampaign(suite.server.app, slug)
  /** Someone else's change through the API, after the console showed the campaign. */
  const changeElsewhere = async (slug: string, payload: Record<string, unknown>) => {
    const res = await suite.server.app.inject({
      method: 'PATCH',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
      payload,
    })
    assert.equal(res.statusCode, 200, res.body)
  }
  const archiveElsewhere = async (slug: string) => {
    const res = await suite.server.app.inject({
      method: 'DELETE',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
  }
  /** The editor's stale-version warning, then its button loading the current version. */
  const expectStale = async (page: Page, what: RegExp) => {
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    const text = (await message.textContent()) ?? ''
    assert.equal(await message.getAttribute('data-tone'), 'warn', text)
    assert.match(text, what)
    await page.locator('[data-testid="load-latest"]:not([disabled])').click()
    await message.waitFor({ state: 'detached' })
  }

  test('Archive of a campaign changed since it was shown is refused as stale and leaves it open', async () => {
    const slug = await createCampaign(suite.server.app)
    const { page, problems } = await openSettings(suite, slug)
    page.on('dialog', (dialog) => void dialog.accept())
    const shown = (await stored(slug)).version as number
    await changeElsewhere(slug, { description: 'Changed through the API' })

    await page.locator('[data-testid="archive-campaign"]').click()
    await expectStale(page, /not archived/)
    const after = await stored(slug)
    assert.equal(after.archived_at, null)
    assert.notEqual(after.status, 'archived')
    assert.equal(after.version, shown + 1)
    // The current version loaded, Archive goes through.
    assert.equal(await page.locator('#ed-desc').inputValue(), 'Changed through the API')
    await page.locator('[data-testid="archive-campaign"]').click()
    await page.locator('[data-testid="archived-note"]').waitFor()
    assert.notEqual((await stored(slug)).archived_at, null)
    assert.deepEqual(problems, [])
  })

  test('Restore of a campaign restored and changed since it was shown is refused as stale', async () => {
    const slug = await createCampaign(suite.server.app)
    await archiveElsewhere(slug)
    const { page, problems } = await openSettings(suite, slug)
    await page.locator('[data-testid="archived-note"]').waitFor()
    // Someone else restores it, changes it, and archives it again: a restore on the version shown
    // would bring back a campaign the console has not shown.
    const unarchived = await suite.server.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/unarchive`,
      headers: adminHeaders,
    })
    assert.equal(unarchived.statusCode, 200, unarchived.body)
    await changeElsewhere(slug, { title: 'Renamed elsewhere' })
    await archiveElsewhere(slug)

    await page.locator('[data-testid="restore-campaign"]').click()
    await expectStale(page, /not restored/)
    assert.notEqual((await stored(slug)).archived_at, null)
    assert.equal(await page.locator('#ed-title').inputValue(), 'Renamed elsewhere')
    await page.locator('[data-testid="restore-campaign"]').click()
    await page.locator('[data-testid="archived-note"]').waitFor({ state: 'detached' })
    assert.equal((await stored(slug)).archived_at, null)
    assert.deepEqual(problems, [])
  })

  test('removing a metadata key with a key revoked meanwhile returns to the login', async () => {
    const slug = await createCampaign(suite.server.app, { metadata: { service_specific: { crm: 'x' } } })
    const { id, key } = await suite.server.app.platform.apiKeys.create({
      name: 'soon revoked',
      role: 'admin',
    })
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), key)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    page.on('dialog', (dialog) => void dialog.accept())
    await page.locator('[data-testid="remove-metadata-key"]').waitFor()
    assert.equal(await suite.server.app.platform.apiKeys.revoke(id), true)

    await page.locator('[data-testid="remove-metadata-key"]').click()
    await page.locator('[data-testid="login-form"]').waitFor()
    assert.deepEqual((await stored(slug)).metadata.service_specific, { crm: 'x' })
    assert.deepEqual(problems, [])
  })
})
