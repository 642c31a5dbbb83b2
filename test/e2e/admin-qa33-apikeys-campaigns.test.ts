// The console's API keys page with more campaigns than one page of the campaign list, in Chromium:
// the create form's campaign picker offers every campaign (it offered the first 100), and a key
// made for the oldest of 250, the last in the list, is limited to it.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const CREATED = 250
/** Campaigns made at once: the API's requests overlap rather than wait for each other. */
const BATCH = 25

describe('admin console, the API keys campaign picker', () => {
  const suite = browserSuite()

  test('offers every one of 250 campaigns, and a key is made for the 250th', async () => {
    const made: string[] = []
    for (let i = 0; i < CREATED; i += BATCH)
      made.push(
        ...(await Promise.all(
          Array.from({ length: BATCH }, () => createCampaign(suite.server.app, { features: [] })),
        )),
      )
    // The server may hold campaigns of its own (the demo): the count is what the API says.
    const listed = await suite.server.app.inject({
      url: '/api/campaign?include_archived=true&per_page=1',
      headers: adminHeaders,
    })
    const campaigns: number = json(listed).total
    assert.ok(campaigns >= CREATED, String(campaigns))

    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/apikeys`)
    const form = page.locator('form[data-testid="apikey-form"]')
    const picker = form.locator('#apikey-campaigns')
    // Offered once every page is read, all at once.
    await picker.locator('option').first().waitFor({ state: 'attached' })
    const offered = await picker
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    assert.equal(offered.length, campaigns, 'every campaign is offered')
    assert.equal(new Set(offered).size, offered.length, 'each once')
    for (const slug of made) assert.ok(offered.includes(slug), slug)
    // The last of those made in the picker's order (newest first): past the console's page of
    // 100 campaigns, and past the list's largest page, 200.
    const oldest = offered.filter((slug) => made.includes(slug)).at(-1)!
    assert.ok(offered.indexOf(oldest) >= CREATED - 1, String(offered.indexOf(oldest)))

    const name = `picker key ${Date.now()}`
    await form.locator('#apikey-name').fill(name)
    await form.locator('#apikey-role').selectOption('editor')
    await picker.selectOption([oldest])
    await form.locator('button[type="submit"]').click()
    await page.locator('[data-testid="apikey-created"]').waitFor()

    const keys = await suite.server.app.inject({ url: '/api/apikeys', headers: { 'x-api-key': ADMIN_KEY } })
    const record = json(keys).keys.find((k: { name: string }) => k.name === name)
    assert.ok(record, 'the key is stored')
    assert.deepEqual(record.campaigns, [oldest])
    await page
      .locator(`[data-testid="apikeys-table"] tr[data-key-id="${record.id}"] td.campaigns`, {
        hasText: oldest,
      })
      .waitFor()
    assert.deepEqual(problems, [])
  })
})
