// The campaign page when its first requests are refused for a moment (Chromium against the real
// server): a 429 with Retry-After (many visitors behind one address), or a server restarting.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCampaign } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const LIMIT = { timeout: 90_000 }
const WAIT = 15_000

const refusal = (code: string, message: string) =>
  JSON.stringify({ status: 'error', error: { code, message }, request_id: 'test' })

describe('the campaign page’s first load, refused for a moment (QA 29f)', () => {
  const suite = browserSuite({}, WAIT)

  test(
    'a 429 on the guest session is waited out: the page loads once Retry-After has passed',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote'] })
      const context = await suite.newContext()
      let refused = 0
      // The session endpoint's per-address limit, spent by the other visitors behind the same NAT.
      await context.route('**/api/session', (route) => {
        if (refused++ > 0) return route.continue()
        return route.fulfill({
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': '1' },
          body: refusal('RATE_LIMITED', 'Too many requests, retry in 1 s'),
        })
      })
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
      await page.locator('.live-pill[data-state="open"]').waitFor()
      assert.equal(await page.locator('[data-testid="campaign-error"]').count(), 0)
      assert.ok(refused >= 2, 'asked again after the wait')
      assert.deepEqual(
        problems.filter((p) => !p.includes('429')),
        [],
      )
    },
  )

  test('a server answering 503 while it restarts: the page tries again and loads', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote'] })
    const context = await suite.newContext()
    let refused = 0
    await context.route(`**/api/campaign/${slug}`, (route) => {
      if (refused++ > 0) return route.continue()
      return route.fulfill({
        status: 503,
        headers: { 'content-type': 'application/json' },
        body: refusal('SERVICE_UNAVAILABLE', 'Shutting down'),
      })
    })
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    assert.equal(await page.locator('[data-testid="campaign-error"]').count(), 0)
    assert.deepEqual(
      problems.filter((p) => !p.includes('503')),
      [],
    )
  })

  test('a campaign that does not exist is said at once and not asked for again', LIMIT, async () => {
    const context = await suite.newContext()
    let asked = 0
    await context.route('**/api/campaign/no_such_campaign_29f', (route) => {
      asked++
      return route.continue()
    })
    const { page } = await openPage(context, `${suite.server.baseUrl}/c/no_such_campaign_29f`)
    await page.locator('[data-testid="campaign-missing"]').waitFor()
    // The features' own reads may come later; the campaign itself was asked once.
    await page.waitForTimeout(1500)
    assert.equal(asked, 1)
  })
})
