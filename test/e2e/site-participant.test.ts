import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { STRINGS } from '../../web/src/site/strings.js'
import { adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim()

const stored = (page: Page) =>
  page.evaluate(() => ({
    token: localStorage.getItem('ovasabi.token'),
    user: localStorage.getItem('ovasabi.user'),
  }))

/** The `data-testid` of the focused element, waited for (focus moves a render after the answer). */
async function focusedTestId(page: Page, expected: string): Promise<string> {
  await page
    .waitForFunction((id) => document.activeElement?.getAttribute('data-testid') === id, expected, {
      timeout: 10_000,
    })
    .catch(() => {})
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '')
}

/** Counts the page's requests of `method` to `path` (a prefix). */
function countRequests(page: Page, method: string, path: string): { readonly n: number } {
  const seen = { n: 0 }
  page.on('request', (r) => {
    if (r.method() === method && new URL(r.url()).pathname.startsWith(path)) seen.n++
  })
  return seen
}

/** A participant signs out or erases themself from the campaign page: what the page and the server do. */
describe('campaign site: signing out and erasing one’s data in Chromium', () => {
  const suite = browserSuite()

  /** A new campaign's page, someone joined on it: their email, id and token as the page stored them. */
  async function joined(name = 'Ada') {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'registration'] })
    const context = await suite.newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    const email = `${name.toLowerCase()}.${randomBytes(5).toString('hex')}@example.org`
    await page.locator('#join-name').fill(name)
    await page.locator('#join-email').fill(email)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="referral-card"]').waitFor()
    const { token, user } = await stored(page)
    assert.ok(token && user)
    return { slug, page, problems, email, token, id: JSON.parse(user).id as string }
  }

  const me = (token: string) =>
    suite.server.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })

  /** Whether the admin's list of people (erased ones left out) still has `email`. */
  async function listed(email: string): Promise<boolean> {
    const res = await suite.server.app.inject({
      method: 'GET',
      url: `/api/users?q=${encodeURIComponent(email)}`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
    return json<{ people: Array<{ email: string }> }>(res).people.some((p) => p.email === email)
  }

  test('"Not you? Sign out" ends the session on the server and brings back an empty join form', async () => {
    const { page, problems, token } = await joined('Ada')
    assert.equal((await me(token)).statusCode, 200)
    assert.equal(
      await text(page, '[data-testid="signed-in-as"]'),
      STRINGS['account.signedInAs'].replace('{name}', 'Ada'),
    )

    // Every state the live pill shows from here: the person's socket ends, a guest's opens.
    await page.locator('.live-pill[data-state="open"]').waitFor()
    await page.evaluate(() => {
      const pill = document.querySelector('.live-pill') as HTMLElement
      const states: string[] = []
      ;(window as unknown as { pillStates: string[] }).pillStates = states
      new MutationObserver(() => states.push(pill.dataset.state ?? '')).observe(pill, {
        attributeFilter: ['data-state'],
      })
    })

    await page.locator('[data-testid="sign-out"]').click()
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await text(page, '[data-testid="departure-notice"]'), STRINGS['account.signedOut'])
    assert.equal(await page.locator('[data-testid="departure-notice"]').getAttribute('role'), 'status')
    assert.equal(await focusedTestId(page, 'departure-notice'), 'departure-notice')
    assert.equal(await page.locator('[data-testid="referral-card"]').count(), 0)
    // The next visitor of a shared computer does not find the name typed in.
    assert.equal(await page.locator('#join-name').inputValue(), '')

    // Forgotten here; the page holds a new guest's token, which the server takes.
    const after = await stored(page)
    assert.equal(after.user, null)
    assert.ok(after.token)
    assert.notEqual(after.token, token)
    const guest = await me(after.token)
    assert.equal(guest.statusCode, 200, guest.body)
    assert.equal(json(guest).kind, 'session')
    // The person's token no longer works anywhere.
    const refused = await me(token)
    assert.equal(refused.statusCode, 401, refused.body)
    // The live features go on, as the guest the page now is: a new socket opened.
    await page.waitForFunction(() => {
      const states = (window as unknown as { pillStates: string[] }).pillStates
      return states.length > 1 && states.at(-1) === 'open'
    })
    const states = await page.evaluate(() => (window as unknown as { pillStates: string[] }).pillStates)
    assert.ok(
      states.some((s) => s !== 'open'),
      states.join(),
    )
    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.deepEqual(problems, [])
  })

  test('without the server, signing out still forgets the person here and says the session was not ended', async () => {
    const { page, problems, token } = await joined('Bea')
    await page.route('**/api/auth/logout', (route) => route.abort('internetdisconnected'))
    await page.locator('[data-testid="sign-out"]').click()
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await text(page, '[data-testid="departure-notice"]'), STRINGS['account.signedOutHere'])
    const after = await stored(page)
    assert.equal(after.user, null)
    assert.notEqual(after.token, token)
    // What the page said is so: the server never heard, the token still works until it expires.
    assert.equal((await me(token)).statusCode, 200)
    assert.deepEqual(
      problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)),
      [],
    )
  })

  test('"Delete my data", confirmed, erases the person on the server and leaves the page a guest’s', async () => {
    const { page, problems, token, email } = await joined('Cleo')
    assert.equal(await listed(email), true)

    await page.locator('[data-testid="erase-data"]').click()
    await page.locator('[data-testid="erase-confirm"]').waitFor()
    assert.equal(await text(page, '.erase-explain'), STRINGS['account.erase.explain'])
    await page.locator('[data-testid="erase-confirm"] button[type="submit"]').click()

    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await text(page, '[data-testid="departure-notice"]'), STRINGS['account.erased'])
    assert.equal(await focusedTestId(page, 'departure-notice'), 'departure-notice')
    assert.equal(await listed(email), false)
    assert.equal((await me(token)).statusCode, 401)
    const after = await stored(page)
    assert.equal(after.user, null)
    assert.notEqual(after.token, token)

    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.locator('form[data-testid="join-form"]').waitFor()
    assert.equal(await page.locator('[data-testid="referral-card"]').count(), 0)
    assert.deepEqual(problems, [])
  })

  test('"Keep my data" closes the confirmation and erases nothing', async () => {
    const { page, problems, token, email } = await joined('Dan')
    const erasures = countRequests(page, 'DELETE', '/api/user/')

    await page.locator('[data-testid="erase-data"]').click()
    await page.locator('[data-testid="erase-confirm"]').waitFor()
    // The explanation is read first: focus is on it, the erasing button follows.
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'erase-explain')
    await page.locator('[data-testid="erase-cancel"]').click()

    await page.locator('[data-testid="erase-confirm"]').waitFor({ state: 'detached' })
    assert.equal(await focusedTestId(page, 'erase-data'), 'erase-data')
    assert.equal(erasures.n, 0)
    assert.equal(await listed(email), true)
    assert.equal((await me(token)).statusCode, 200)
    assert.equal((await stored(page)).token, token)
    assert.equal(await page.locator('[data-testid="referral-card"]').count(), 1)
    assert.deepEqual(problems, [])
  })

  test('an erasure the server refuses is said in the page’s words, and a 429 holds the button', async () => {
    const { page, token, id } = await joined('Eve')
    // Erased elsewhere meanwhile: this browser's token is refused (401).
    const gone = await suite.server.app.inject({
      method: 'DELETE',
      url: `/api/user/${id}`,
      headers: adminHeaders,
    })
    assert.equal(gone.statusCode, 200, gone.body)

    await page.locator('[data-testid="erase-data"]').click()
    const confirm = page.locator('[data-testid="erase-confirm"]')
    await confirm.locator('button[type="submit"]').click()
    await confirm.locator('.notice[role="alert"]', { hasText: STRINGS['account.erase.refused'] }).waitFor()
    assert.doesNotMatch(
      await text(page, '[data-testid="erase-confirm"]'),
      /Only the person|TOKEN_REVOKED|token/i,
    )
    // Nothing forgotten: the page could not erase, and says what to do instead.
    assert.equal((await stored(page)).token, token)

    await page.route('**/api/user/*', (route) =>
      route.request().method() === 'DELETE'
        ? route.fulfill({
            status: 429,
            headers: { 'content-type': 'application/json', 'retry-after': '30' },
            body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } }),
          })
        : route.continue(),
    )
    await confirm.locator('button[type="submit"]').click()
    const wait = STRINGS['form.error.rateLimited.other'].replace('{seconds}', '30')
    await confirm.locator('.notice[role="alert"]', { hasText: wait }).waitFor()
    assert.equal(await confirm.locator('button[type="submit"]').isDisabled(), true)
  })
})
