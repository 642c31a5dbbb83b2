import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { BrowserContext } from 'playwright-core'
import { ADMIN_KEY, createCampaign } from '../helper.js'
import { DESKTOP, openPage, screenshot, serverAndBrowser } from './harness.js'

describe('admin console in Chromium: errors, chart, schedule layout, features', () => {
  const suite = serverAndBrowser()

  /** A context already signed in (the key in sessionStorage, as the login form leaves it). */
  async function signedIn(options = DESKTOP): Promise<BrowserContext> {
    const context = await suite.browser.newContext(options)
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    return context
  }

  test('a refused save names the field and the rule it broke', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await signedIn()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
    await page.locator('#ed-rules').fill('{"max_cursors": 5000}')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    const notice = page.locator('[data-testid="campaign-editor"] .notice[data-tone="danger"]')
    await notice.waitFor()
    const text = (await notice.textContent()) ?? ''
    assert.match(text, /^VALIDATION_FAILED: /)
    assert.match(text, /metadata\.custom_rules\.max_cursors must be <= 1000/)
    // The path is made readable: no `body/…` slashes.
    assert.doesNotMatch(text, /body\//)
    assert.deepEqual(problems, [])
    await context.close()
  })

  test('the dashboard chart labels small counts with whole, distinct ticks from 0', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const context = await signedIn()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/dashboard`)
    await page.locator('[data-testid="dashboard"] svg.chart').waitFor()
    const ticks = await page
      .locator('[data-testid="dashboard"] svg.chart text[data-tick]')
      .evaluateAll((els) => els.map((e) => e.textContent ?? ''))
    assert.ok(ticks.length >= 2, `ticks: ${ticks}`)
    for (const t of ticks) assert.match(t, /^\d+$/, `tick ${t} is a whole number`)
    const values = ticks.map(Number)
    assert.equal(values[0], 0)
    assert.equal(new Set(values).size, values.length, `distinct ticks: ${ticks}`)
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!, `ascending: ${ticks}`)
    assert.deepEqual(problems, [])
    await context.close()
  })

  for (const width of [1280, 1120, 800]) {
    test(`schedule inputs stay inside their fields at ${width}px`, async () => {
      const slug = await createCampaign(suite.server.app, {
        features: ['presence'],
        metadata: {
          scheduling: { frequency: 1, start: '2030-01-02T03:04:00.000Z', end: '2030-02-03T04:05:00.000Z' },
        },
      })
      const context = await signedIn({ viewport: { width, height: 900 } })
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/settings`)
      await page.locator('[data-testid="campaign-editor"]').waitFor()
      for (const id of ['ed-freq', 'ed-start', 'ed-end', 'ed-tz']) {
        const input = page.locator(`#${id}`)
        const box = await input.boundingBox()
        const field = await input.locator('xpath=..').boundingBox()
        assert.ok(box && field, `${id} is laid out`)
        // Half a pixel of rounding; an overflowing datetime-local input was tens of pixels wider.
        assert.ok(box.x >= field.x - 0.5, `${id} starts inside its field (${box.x} < ${field.x})`)
        assert.ok(
          box.x + box.width <= field.x + field.width + 0.5,
          `${id} ends inside its field (${box.x + box.width} > ${field.x + field.width})`,
        )
      }
      // Neighbours in a row do not overlap (the Start field's calendar icon sat over End).
      const start = (await page.locator('#ed-start').boundingBox())!
      const end = (await page.locator('#ed-end').boundingBox())!
      if (Math.abs(start.y - end.y) < 1) assert.ok(start.x + start.width <= end.x, 'Start ends before End')
      await page.locator('fieldset.group', { hasText: 'Schedule' }).screenshot({
        path: await screenshot(page, `admin-schedule-${width}`).then((p) =>
          p.replace(/\.png$/, '-group.png'),
        ),
      })
      assert.deepEqual(problems, [])
      await context.close()
    })
  }

  test('the dashboard asks for the leaderboard only when the campaign has the referral feature', async () => {
    const without = await createCampaign(suite.server.app, { features: ['presence', 'analytics'] })
    const withReferral = await createCampaign(suite.server.app, {
      features: ['presence', 'registration', 'referral'],
    })
    const context = await signedIn()
    const requested: string[] = []
    const refused: string[] = []
    context.on('request', (r) => requested.push(new URL(r.url()).pathname))
    context.on('response', (r) => {
      if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}`)
    })

    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${without}/dashboard`)
    await page.locator('[data-testid="dash-referral-off"]').waitFor()
    // A stats poll has come back too, so every request the dashboard makes on opening was made.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="dash-leads"]')?.textContent !== '–',
    )
    assert.deepEqual(
      requested.filter((p) => p.includes('/referrals/')),
      [],
    )

    await page.goto(`${suite.server.baseUrl}/admin/c/${withReferral}/dashboard`)
    await page.locator('.panel', { hasText: 'Top referrers' }).locator('text=No referrals yet.').waitFor()
    assert.deepEqual(
      requested.filter((p) => p.includes('/referrals/')),
      [`/api/campaign/${withReferral}/referrals/leaderboard`],
    )
    assert.deepEqual(refused, [])
    assert.deepEqual(problems, [])
    await context.close()
  })
})
