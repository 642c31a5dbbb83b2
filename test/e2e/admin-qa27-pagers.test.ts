// The streams wall's and the leads table's pagers, in Chromium (QA 27): while the next page is on
// its way the rows shown are still the first page's, and the pager says so; it moves on with the
// rows, from the page the answer says it holds.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page, Route } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, pagers say the range of the rows shown', () => {
  const suite = browserSuite()

  /** `path` opened signed in, every GET whose URL `match`es held until released. */
  async function openHolding(path: string, match: (url: URL) => boolean) {
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}${path}`)
    const held: Route[] = []
    let arrived: () => void = () => {}
    // Bounded, so a request that never comes fails the test instead of hanging it.
    const first = new Promise<void>((resolve, reject) => {
      arrived = resolve
      setTimeout(() => reject(new Error(`no request for ${path}'s next page came`)), 15_000).unref()
    })
    await page.route(match, (route) => {
      if (route.request().method() !== 'GET') return route.continue()
      held.push(route)
      arrived()
    })
    return { page, problems, held, first }
  }

  const pagerText = async (page: Page, testid: string) =>
    (await page.locator(`[data-testid="${testid}"] span`).first().textContent()) ?? ''

  test('the streams wall: "Streams 1–100" until the second page’s tiles arrive', async () => {
    for (let i = 0; i < 103; i++) {
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: adminHeaders,
        payload: {
          link: `https://www.twitch.tv/pagerwall${i}`,
          title: `Pager stream ${i}`,
          status: 'offline',
        },
      })
      assert.equal(res.statusCode, 201, res.body)
    }
    const { page, problems, held, first } = await openHolding(
      '/admin/streams',
      (u) => u.pathname === '/api/v1/streams' && u.searchParams.get('page') === '2',
    )
    const pager = page.locator('[data-testid="streams-pager"]')
    await pager.getByText('Streams 1–100 of 103').waitFor()
    await pager.getByRole('button', { name: 'Next' }).click()
    await first
    // The first page's tiles are still shown, and the pager says those.
    assert.equal(await page.locator('[data-testid="streams-wall"] article').count(), 100)
    assert.equal(await pagerText(page, 'streams-pager'), 'Streams 1–100 of 103')
    for (const route of held.splice(0)) await route.continue()
    await pager.getByText('Streams 101–103 of 103').waitFor()
    assert.equal(await page.locator('[data-testid="streams-wall"] article').count(), 3)
    assert.deepEqual(problems, [])
  })

  test('the leads table: "Leads 1–100" until the second page’s rows arrive', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    for (let i = 1; i <= 101; i++) {
      // Each lead from its own address: the per-address quote limit is not what this is about.
      const from = { 'x-forwarded-for': `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` }
      const session = await suite.server.app.inject({ method: 'POST', url: '/api/session', headers: from })
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${json(session).token}`, ...from },
        payload: { campaign: slug, name: `Pager lead ${i}`, email: `pager${i}@example.org` },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const { page, problems, held, first } = await openHolding(
      `/admin/c/${slug}/leads`,
      // The table pages by cursor (QA 30): its second page is the one asked with `before`.
      (u) => u.pathname === `/api/campaign/${slug}/leads` && u.searchParams.has('before'),
    )
    const pager = page.locator('[data-testid="leads-pager"]')
    await pager.getByText('Leads 1–100 of 101').waitFor()
    await pager.getByRole('button', { name: 'Next' }).click()
    await first
    assert.equal(await page.locator('[data-testid="leads-table"] tbody tr').count(), 100)
    assert.equal(await pagerText(page, 'leads-pager'), 'Leads 1–100 of 101')
    for (const route of held.splice(0)) await route.continue()
    await pager.getByText('Leads 101–101 of 101').waitFor()
    assert.equal(await page.locator('[data-testid="leads-table"] tbody tr').count(), 1)
    assert.deepEqual(problems, [])
  })
})
