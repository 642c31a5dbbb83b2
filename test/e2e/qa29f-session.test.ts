// A visitor who joined comes back after their session ran out (Chromium against the real server):
// the page starts a new guest session, and keeps what it showed them of their join.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { STRINGS } from '../../web/src/site/strings.js'
import { createCampaign } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const LIMIT = { timeout: 90_000 }
const WAIT = 15_000

/** `token` with its `exp` moved into the past: what the tab holds a day after the join. */
function expired(token: string): string {
  const [head, body, sig] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  claims.exp = Math.floor(Date.now() / 1000) - 3600
  return `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`
}

describe('a joined visitor whose session expired (QA 29f)', () => {
  const suite = browserSuite({}, WAIT)

  test(
    'the page keeps their referral link and works as a guest, not as their expired self',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app, {
        features: ['presence', 'registration', 'referral', 'streaming'],
      })
      const context = await suite.newContext()
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
      await page.locator('.live-pill[data-state="open"]').waitFor()
      await page.locator('#join-name').fill('Ada')
      await page.locator('#join-email').fill(`ada.${Date.now()}@example.org`)
      await page.locator('#join-email').press('Enter')
      const card = page.locator('[data-testid="referral-card"]')
      await card.waitFor()
      const link = await page.locator('#referral-link').inputValue()
      assert.match(link, /\?ref=/)

      // A day later: the user token in the tab has expired (the page never sends it again).
      const token = await page.evaluate(() => localStorage.getItem('ovasabi.token'))
      assert.ok(token)
      const stale = expired(token)
      await page.evaluate((t) => localStorage.setItem('ovasabi.token', t), stale)
      await page.reload({ waitUntil: 'domcontentloaded' })
      await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()

      // The same link, under the name they joined with; joining again would only be refused
      // (EMAIL_TAKEN: the email has joined, and this new session is not the one it joined from).
      await card.waitFor()
      assert.equal(await page.locator('#referral-link').inputValue(), link)
      assert.equal(await page.locator('[data-testid="user-name"]').textContent(), 'Ada')
      assert.equal(await page.locator('form[data-testid="join-form"]').count(), 0)
      // The socket is the new guest session's (a socket on the person's path with a guest token is
      // refused), and a guest is not offered to go live (the server would refuse it).
      await page.locator('.live-pill[data-state="open"]').waitFor()
      const fresh = await page.evaluate(() => localStorage.getItem('ovasabi.token'))
      assert.ok(fresh && fresh !== stale, 'a new guest session')
      assert.equal(await page.getByRole('button', { name: STRINGS['stream.start'] }).count(), 0)
      assert.deepEqual(problems, [])
    },
  )
})
