// The webhook "Recover messages since" field, in Chromium: the time typed in it is the browser's
// local time, and the field says which zone that is, as the console's other times do.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, createCampaign } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, the zone of a webhook recovery time', () => {
  // A receiver on this machine: no lead is sent, the endpoint only has to be accepted.
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } })

  test("the since field names the browser's zone", async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const added = await suite.server.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/webhooks`,
      headers: adminHeaders,
      payload: { url: 'http://127.0.0.1:9/hooks/ovasabi', events: ['lead.created'] },
    })
    assert.equal(added.statusCode, 201, added.body)

    // A zone without daylight saving, so its name is the same on any day the test runs.
    const context = await suite.newContext({ timezoneId: 'Asia/Kolkata', locale: 'en-US' })
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    const since = page.locator('[data-testid="webhook-recover-since"]')
    await since.waitFor()
    // Said where the field is named: a screen reader hears it with the field.
    const name = await since.evaluate((el) => (el as HTMLInputElement).labels?.[0]?.textContent ?? '')
    // Chromium names the zone by its older name, Asia/Calcutta.
    assert.match(name, /Asia\/(Kolkata|Calcutta) time/, name)
    assert.match(name, /GMT\+5:30/, name)
    assert.equal(await page.getByLabel(/Recover messages since.*Asia\/(Kolkata|Calcutta)/).count(), 1)
    assert.deepEqual(problems, [])
  })
})
