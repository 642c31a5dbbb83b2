// The admin console signed in by a person's email and password (issue 7), in Chromium: an editor
// sees the console (but not what only an admin may use), a participant is told their account has
// no console role, a role lowered while signed in sends them back to sign-in, and a console that
// cannot ask the server who it is says so instead of showing itself as an admin's.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY } from '../helper.js'
import { personWithRole } from '../people-fixtures.js'
import { browserSuite, openPage } from './harness.js'

const PASSWORD = 'correct horse battery staple'

describe('admin console, a person signing in with their password', () => {
  const suite = browserSuite()

  /** A person who joined the default campaign with a password, given `role` by the admin key. */
  const person = (role: 'participant' | 'editor' | 'admin') =>
    personWithRole(suite.server.app, 'ovasabi_website', role, { name: 'Console Person', password: PASSWORD })

  async function setRole(id: string, role: string) {
    const res = await suite.server.app.inject({
      method: 'PUT',
      url: `/api/user/${id}/role`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { role },
    })
    assert.equal(res.statusCode, 200, res.body)
  }

  /** The console's sign-in page in a new context. */
  async function consoleSignIn() {
    return openPage(await suite.newContext(), `${suite.server.baseUrl}/admin`)
  }

  async function signIn(page: Page, email: string) {
    const form = page.locator('form[data-testid="password-form"]')
    await form.locator('#login-email').fill(email)
    await form.locator('#login-password').fill(PASSWORD)
    await form.locator('button[type="submit"]').click()
  }

  const stored = (page: Page) =>
    page.evaluate(() => [
      sessionStorage.getItem('ovasabi.admin.token'),
      sessionStorage.getItem('ovasabi.admin.apiKey'),
    ])

  test('an editor signs in with email and password and sees the console, without admin screens', async () => {
    const editor = await person('editor')
    const { page, problems } = await consoleSignIn()
    await signIn(page, editor.email)
    const list = page.locator('[data-testid="campaign-list"]')
    await list.locator('a', { hasText: 'ovasabi_website' }).waitFor()
    // Roles known: the campaign's tabs show, without the admin's Webhooks.
    await list.locator('a', { hasText: 'ovasabi_website' }).click()
    await page.locator('nav.tabs a', { hasText: 'Settings' }).waitFor()
    assert.deepEqual(await page.locator('nav.tabs a').allTextContents(), ['Dashboard', 'Settings', 'Leads'])
    assert.equal(await page.locator('.sidebar a', { hasText: 'Service graph' }).count(), 0)
    // The Streams wall takes the person's sign-in as an editor's key (QA 31d).
    assert.equal(await page.locator('.sidebar a', { hasText: 'Streams wall' }).count(), 1)
    const [token, key] = await stored(page)
    assert.ok(token, 'the token is kept for the tab')
    assert.equal(key, null)
    // The token works as an editor's key does, on a route for editors.
    const audit = await suite.server.app.inject({
      url: '/api/campaign/ovasabi_website/audit',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(audit.statusCode, 200, audit.body)

    // Reloading the tab keeps the sign-in, on the wall's address too.
    await page.goto(`${suite.server.baseUrl}/admin/streams`)
    await page.locator('h1', { hasText: 'Streams wall' }).waitFor()
    await page.locator('[data-testid="streams-editor-note"]').waitFor()
    await list.locator('a', { hasText: 'ovasabi_website' }).waitFor()

    // Sign out ends the session on the server too, not only in the tab.
    await page.locator('.sidebar button', { hasText: 'Sign out' }).click()
    await page.locator('form[data-testid="password-form"]').waitFor()
    assert.deepEqual(await stored(page), [null, null])
    const after = await suite.server.app.inject({
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(after.statusCode, 401)
    assert.deepEqual(problems, [])
  })

  test('a participant is told the account has no console role, and nothing is kept', async () => {
    const visitor = await person('participant')
    const { page, problems } = await consoleSignIn()
    await signIn(page, visitor.email)
    const note = page.locator('[data-testid="no-console-role"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /no console role/i)
    assert.equal(await page.locator('[data-testid="campaign-list"]').count(), 0)
    assert.deepEqual(await stored(page), [null, null])
    assert.deepEqual(problems, [])
  })

  test('a wrong password is refused on the form', async () => {
    const editor = await person('editor')
    const { page } = await consoleSignIn()
    const form = page.locator('form[data-testid="password-form"]')
    await form.locator('#login-email').fill(editor.email)
    await form.locator('#login-password').fill('not the password at all')
    await form.locator('button[type="submit"]').click()
    const alert = form.locator('[role="alert"]')
    await alert.waitFor()
    assert.match((await alert.textContent()) ?? '', /INVALID_CREDENTIALS/)
    assert.deepEqual(await stored(page), [null, null])
  })

  test('a role lowered while signed in sends the console back to sign-in, saying why', async () => {
    const admin = await person('admin')
    const { page, problems } = await consoleSignIn()
    await signIn(page, admin.email)
    await page.locator('.sidebar a', { hasText: 'Service graph' }).waitFor()
    await setRole(admin.id, 'editor')
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).click()
    await page.locator('form[data-testid="password-form"]').waitFor()
    const note = page.locator('[data-testid="session-ended"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /sign in again/i)
    assert.deepEqual(await stored(page), [null, null])
    // Signing in again gives the editor's console.
    await signIn(page, admin.email)
    await page.locator('nav.tabs a', { hasText: 'Settings' }).waitFor()
    assert.deepEqual(await page.locator('nav.tabs a').allTextContents(), ['Dashboard', 'Settings', 'Leads'])
    assert.equal(await page.locator('.sidebar a', { hasText: 'Service graph' }).count(), 0)
    assert.deepEqual(problems, [])
  })

  test('when the server cannot say who the console is, it does not assume an admin', async () => {
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), ADMIN_KEY)
    await context.route('**/api/auth/me', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'Try again' } }),
      }),
    )
    const { page } = await openPage(context, `${suite.server.baseUrl}/admin`)
    const note = page.locator('[data-testid="me-failed"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /SERVICE_UNAVAILABLE/)
    assert.equal(await page.locator('.sidebar a', { hasText: 'Service graph' }).count(), 0)
    assert.equal(await page.locator('[data-testid="campaign-list"]').count(), 0)
    // Once the server answers again, Retry gives the admin's console.
    await context.unroute('**/api/auth/me')
    await note.getByRole('button', { name: 'Retry' }).click()
    await page.locator('.sidebar a', { hasText: 'Service graph' }).waitFor()
  })
})
