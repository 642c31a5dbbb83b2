// The admin console on a campaign stored before titles, zones and schedule keys were checked: it
// names the campaign, and its editor saves it once a real time zone is picked.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, insertLegacyCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console on a campaign stored before the checks', () => {
  const suite = browserSuite()

  test('shows the slug for a blank title and saves once a real zone is picked, dropping old schedule keys', async () => {
    const slug = await insertLegacyCampaign(suite.server.app, '  ', {
      frequency: 2,
      timezone: 'Berlin',
      colour: 'red',
    })
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    await page.locator('h1', { hasText: slug }).waitFor()

    const save = async () => {
      await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
      const message = page.locator('[data-testid="editor-message"]')
      await message.waitFor()
      return message
    }
    // The stored zone is shown as stored, and a save naming it is refused by name.
    assert.equal(await page.locator('#ed-tz').inputValue(), 'Berlin')
    const refused = await save()
    assert.equal(await refused.getAttribute('data-tone'), 'danger')
    assert.match((await refused.textContent()) ?? '', /metadata\.scheduling\.timezone/)

    await page.locator('#ed-tz').fill('Europe/Berlin')
    const saved = await save()
    assert.equal(await saved.getAttribute('data-tone'), 'ok', (await saved.textContent()) ?? '')
    const stored = json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )
    assert.equal(stored.title, slug)
    assert.deepEqual(stored.metadata.scheduling, { frequency: 2, timezone: 'Europe/Berlin' })
    assert.deepEqual(problems, [])
  })
})
