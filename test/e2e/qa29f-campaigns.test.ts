// One visitor, two campaigns on the same server (Chromium against the real server): a referral
// code is a campaign membership's (each campaign's join gives its own), so a join on one campaign's
// page neither hides the other's join form nor hands out its code there.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createCampaign } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const LIMIT = { timeout: 90_000 }
const WAIT = 15_000

/** Joins on the open page; returns the referral code the server gave this join. */
async function join(page: Page, name: string, email: string): Promise<string> {
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/user/register'))
  await page.locator('#join-name').fill(name)
  await page.locator('#join-email').fill(email)
  await page.locator('#join-email').press('Enter')
  const body = await (await answer).json()
  await page.locator('[data-testid="referral-card"]').waitFor()
  return body.user.referral_code as string
}

const shownCode = async (page: Page) =>
  new URL(await page.locator('#referral-link').inputValue()).searchParams.get('ref')

describe('a visitor on two campaigns’ pages (QA 29f)', () => {
  const suite = browserSuite({}, WAIT)

  test('each campaign’s page offers its own join and shows its own referral code', LIMIT, async () => {
    const features = ['presence', 'registration', 'referral']
    const a = await createCampaign(suite.server.app, { features })
    const b = await createCampaign(suite.server.app, { features })
    const context = await suite.newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${a}`)
    await page.locator('.live-pill[data-state="open"]').waitFor()
    const email = `ada.${Date.now()}@example.org`
    const codeA = await join(page, 'Ada', email)
    assert.equal(await shownCode(page), codeA)

    // Campaign B: not joined yet, so its join form, not A's code under B's address.
    await page.goto(`${suite.server.baseUrl}/c/${b}`, { waitUntil: 'domcontentloaded' })
    await page.locator('.brand', { hasText: `Test ${b}` }).waitFor()
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await page.locator('[data-testid="referral-card"]').count(), 0)
    const codeB = await join(page, 'Ada', email)
    assert.notEqual(codeB, codeA)
    assert.equal(await shownCode(page), codeB)
    assert.match(await page.locator('#referral-link').inputValue(), new RegExp(`/c/${b}\\?ref=`))

    // Back on A: A's own code still.
    await page.goto(`${suite.server.baseUrl}/c/${a}`, { waitUntil: 'domcontentloaded' })
    await page.locator('[data-testid="referral-card"]').waitFor()
    assert.equal(await shownCode(page), codeA)
    assert.deepEqual(problems, [])
  })
})
