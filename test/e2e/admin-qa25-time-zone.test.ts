// Times in the admin console say their zone, in Chromium: an operator reading when a lead came in
// (or a webhook attempt was made) knows whose clock it is.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, times with their zone', () => {
  const suite = browserSuite()

  test("a lead's received time names the browser's zone", async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const sent = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}` },
      payload: { campaign: slug, name: 'Zone Reader', email: 'zone@example.org', message: 'hello' },
    })
    assert.equal(sent.statusCode, 200, sent.body)

    // A zone without daylight saving, so its name is the same on any day the test runs.
    const context = await suite.newContext({ timezoneId: 'Asia/Kolkata', locale: 'en-US' })
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const row = page.locator('[data-testid="leads-table"] tbody tr', { hasText: 'Zone Reader' })
    await row.waitFor()
    const received = (await row.locator('td').nth(4).textContent()) ?? ''
    assert.match(received, /GMT\+5:30/, received)
    assert.deepEqual(problems, [])
  })
})
