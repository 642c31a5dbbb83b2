// The admin console on top-level metadata keys its form has no field for (set through the API, or
// kept from an older version): they are listed, and each can be removed, as a merge patch setting
// it to `null`; the form's own save sends them back as it found them, so they could not be removed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createCampaign, uniqueSlug } from '../helper.js'
import { storedCampaign } from '../campaign-fixtures.js'
import { openSettings as openCampaignSettings } from './console-fixtures.js'
import { browserSuite, screenshot } from './harness.js'

describe('admin console: other metadata keys (sixth QA pass)', () => {
  const suite = browserSuite()

  async function openSettings(slug: string) {
    const opened = await openCampaignSettings(suite, slug)
    // Removing asks first, as archiving does.
    opened.page.on('dialog', (dialog) => void dialog.accept())
    return opened
  }
  const read = (slug: string) => storedCampaign(suite.server.app, slug)
  const expectMessage = async (page: Page, tone: string) => {
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), tone, (await message.textContent()) ?? '')
  }

  test('lists a key set through the API, and Remove deletes it from the stored campaign', async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence'],
      metadata: { tags: ['spring'], service_specific: { crm: 'acme-crm', id: 42 }, versioning: { v: 3 } },
    })
    const { page, problems } = await openSettings(slug)
    const list = page.locator('[data-testid="other-metadata"]')
    await list.waitFor()
    // Only the keys the form has no field for, each with its value.
    assert.deepEqual(
      await list.locator('li').evaluateAll((li) => li.map((e) => e.getAttribute('data-key'))),
      ['service_specific', 'versioning'],
    )
    const row = list.locator('li[data-key="service_specific"]')
    assert.match((await row.textContent()) ?? '', /"crm":"acme-crm"/)
    await screenshot(page, 'campaign-qa6-other-keys')

    const version = (await read(slug)).version
    await row.locator('[data-testid="remove-metadata-key"]').click()
    await row.waitFor({ state: 'detached' })
    await expectMessage(page, 'ok')
    const after = await read(slug)
    assert.equal(Object.hasOwn(after.metadata, 'service_specific'), false)
    assert.deepEqual(after.metadata.versioning, { v: 3 })
    assert.deepEqual(after.metadata.features, ['presence'])
    assert.deepEqual(after.metadata.tags, ['spring'])
    assert.equal(after.version, version + 1)

    // The form's save afterwards does not bring it back.
    await page.locator('#ed-title').fill('Renamed after the removal')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    await expectMessage(page, 'ok')
    const saved = await read(slug)
    assert.equal(saved.title, 'Renamed after the removal')
    assert.equal(Object.hasOwn(saved.metadata, 'service_specific'), false)
    assert.deepEqual(problems, [])
  })

  test('keys an older version stored, which block every save, are removed together', async () => {
    const slug = uniqueSlug('oldkeys')
    await suite.server.app.platform.database.db
      .insertInto('service_campaign_main')
      .values({
        slug,
        title: 'Old keys',
        description: '',
        draft: false,
        created_by: 'legacy',
        metadata: JSON.stringify({
          features: ['presence'],
          colour: 'red',
          legacy_flag: true,
          audit: { by: 'x' },
        }),
        updated_at: new Date(),
      })
      .execute()
    const { page, problems } = await openSettings(slug)
    const list = page.locator('[data-testid="other-metadata"]')
    await list.waitFor()
    assert.equal(await list.locator('li').count(), 3)
    assert.match((await list.locator('li[data-key="colour"]').textContent()) ?? '', /not a known property/)

    // The server refuses any change that keeps one of them: removing `colour` alone names the other.
    await list.locator('li[data-key="colour"] [data-testid="remove-metadata-key"]').click()
    await expectMessage(page, 'danger')
    assert.match((await page.locator('[data-testid="editor-message"]').textContent()) ?? '', /legacy_flag/)

    await list.locator('[data-testid="remove-refused-keys"]').click()
    await list.locator('li[data-key="colour"]').waitFor({ state: 'detached' })
    await expectMessage(page, 'ok')
    const after = await read(slug)
    assert.deepEqual(after.metadata, { features: ['presence'], audit: { by: 'x' } })
    assert.equal(after.problems, undefined)
    await page.locator('[data-testid="campaign-problems"]').waitFor({ state: 'detached' })
    assert.deepEqual(problems, [])
  })
})
