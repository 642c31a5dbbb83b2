// Rotating a webhook's signing secret in the admin console, in Chromium: the console asks first
// (the new secret is shown once, the old one keeps signing for the grace period), Cancel sends
// nothing, and OK rotates once.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, rotating a webhook secret', () => {
  // A receiver on this machine: nothing is delivered, the endpoint only has to be accepted.
  const suite = browserSuite({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } })

  test('asks first; Cancel sends nothing, OK rotates once', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const added = await suite.server.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/webhooks`,
      headers: adminHeaders,
      payload: { url: 'http://127.0.0.1:9/hooks/rotate', events: ['lead.created'] },
    })
    assert.equal(added.statusCode, 201, added.body)
    const previous = async () =>
      json(
        await suite.server.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
      ).webhooks[0].previous_secrets.length as number

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/webhooks`)
    const rotations: string[] = []
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/webhooks\/[^/]+\/rotate/.test(r.url())) rotations.push(r.url())
    })
    const questions: string[] = []
    const button = page.getByRole('button', { name: 'Rotate secret' })

    // Cancel: nothing sent, no secret shown.
    page.once('dialog', (d) => {
      questions.push(d.message())
      void d.dismiss()
    })
    await button.click()
    assert.equal(questions.length, 1, 'the console asks before rotating')
    assert.match(questions[0]!, /shown only once/)
    assert.match(questions[0]!, /keeps signing/)
    // A request the click had sent would be seen by the time the second rotation below is.
    page.once('dialog', (d) => {
      questions.push(d.message())
      void d.accept()
    })
    await button.click()
    const box = page.locator('[data-testid="webhook-secret"]')
    await box.waitFor()
    assert.match(((await box.locator('code').textContent()) ?? '').trim(), /^whsec_/)
    await page.locator('[data-testid="webhook-previous-count"]').waitFor()
    assert.equal(questions.length, 2)
    assert.equal(rotations.length, 1, 'Cancel sent nothing; OK sent one rotation')
    assert.equal(await previous(), 1, 'one rotation on the server')
    assert.deepEqual(problems, [])
  })
})
