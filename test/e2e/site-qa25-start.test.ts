import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign } from '../helper.js'
import { browserSuite, openPage, screenshot } from './harness.js'

/** A merge patch of the campaign's schedule, as the console sends one. */
async function reschedule(app: FastifyInstance, slug: string, scheduling: Record<string, string>) {
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ metadata: { scheduling } }),
  })
  assert.equal(res.statusCode, 200, res.body)
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString()

describe('campaign site: a scheduled campaign opens and ends under the open page (QA 25)', () => {
  const suite = browserSuite({}, 20_000)

  test('the waiting room shows when it opens, then goes live without a reload, then shows the end', async () => {
    const { app } = suite.server
    const slug = await createCampaign(app, {
      features: ['presence', 'quote', 'registration'],
      metadata: { scheduling: { start: inSeconds(3600) } },
    })
    const context = await suite.newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    const notice = page.locator('[data-testid="campaign-status"]')
    const submit = page.locator('form[data-testid="quote-form"] button[type="submit"]')
    await page.locator('.live-pill[data-state="open"]').waitFor()
    await page.locator('[data-testid="campaign-status"][data-status="scheduled"]').waitFor()
    const first = (await notice.textContent()) ?? ''
    assert.match(first, /This campaign opens .+: its forms open then\./)
    // Waiting: its forms take nothing yet (a submit would be refused with 409).
    assert.equal(await submit.isDisabled(), true)
    assert.equal(await page.locator('#quote-email').isDisabled(), true)
    await screenshot(page, 'site-qa25-waiting-room')
    await page.evaluate(() => {
      ;(window as unknown as { qa25: boolean }).qa25 = true
    })

    // Moved earlier by an edit: the page says the new time, then opens when it passes.
    await reschedule(app, slug, { start: inSeconds(3) })
    await page.waitForFunction((before) => {
      const text = document.querySelector('[data-testid="campaign-status"]')?.textContent
      return text === undefined || text !== before
    }, first)
    await notice.waitFor({ state: 'detached' })
    assert.equal(await submit.isDisabled(), false)
    assert.equal(await page.locator('#quote-email').isDisabled(), false)
    // The same page, never reloaded.
    assert.equal(await page.evaluate(() => (window as unknown as { qa25?: boolean }).qa25), true)

    // Live: a lead goes through.
    await page.locator('#quote-name').fill('Ida')
    await page.locator('#quote-email').fill(`ida.${Date.now()}@example.org`)
    await submit.click()
    await page.locator('[data-testid="quote-status"]').waitFor()

    // The end passing closes the socket: the page says the campaign ended.
    await reschedule(app, slug, { end: inSeconds(2) })
    await page.locator('[data-testid="campaign-status"][data-status="ended"]', { hasText: 'ended' }).waitFor()
    assert.equal(await page.locator('.live-pill').getAttribute('data-state'), 'closed')
    assert.deepEqual(problems, [])
  })

  test('a submit refused because the campaign has not started yet says so, not that it closed', async () => {
    const { app } = suite.server
    const slug = await createCampaign(app, { features: ['presence', 'quote'] })
    const context = await suite.newContext()
    // The page never hears the campaign went back to waiting (its announcement lost on the way).
    await context.routeWebSocket(/\/ws\//, (ws) => {
      const upstream = ws.connectToServer()
      upstream.onMessage((message) => {
        if (!String(message).includes('"campaign.status"')) ws.send(message)
      })
    })
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.live-pill[data-state="open"]').waitFor()
    await reschedule(app, slug, { start: inSeconds(3600) })
    await page.locator('#quote-name').fill('Ola')
    await page.locator('#quote-email').fill(`ola.${Date.now()}@example.org`)
    await page.locator('form[data-testid="quote-form"] button[type="submit"]').click()
    const said = page.locator('form[data-testid="quote-form"] .notice[role="alert"]')
    await said.waitFor()
    const text = (await said.textContent()) ?? ''
    assert.match(text, /has not started yet/)
    assert.doesNotMatch(text, /no longer/)
    assert.deepEqual(problems, [])
  })
})
