// The console's People page (admin), in Chromium: an admin finds a person by their address, gives
// them the editor role, and that person's next sign-in opens the console; a person without a
// password cannot be offered a console role; an editor is not shown the page.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const PASSWORD = 'correct horse battery staple'
let people = 0

describe('admin console, the People page', () => {
  const suite = browserSuite()

  /** A person who joined the default campaign (with a password unless `withPassword` is false). */
  async function person(tag: string, withPassword = true) {
    const email = `people.${tag}.${++people}.${Date.now()}@example.org`
    const joined = await suite.server.app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { 'x-forwarded-for': `10.78.${people}.1` },
      payload: {
        campaign: 'ovasabi_website',
        name: `People ${tag}`,
        email,
        ...(withPassword ? { password: PASSWORD } : {}),
      },
    })
    assert.equal(joined.statusCode, 201, joined.body)
    return { id: json(joined).user.id as string, email }
  }

  async function adminPage(path: string) {
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    return openPage(context, `${suite.server.baseUrl}${path}`)
  }

  test('an admin finds a person and makes them an editor; their sign-in then opens the console', async () => {
    const ed = await person('grant')
    const { page, problems } = await adminPage('/admin')
    await page.locator('.sidebar a', { hasText: 'People' }).click()
    await page.locator('h1', { hasText: 'People' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/admin/people')
    await page.locator('#people-q').fill(ed.email)
    await page.locator('#people-q').press('Enter')
    const row = page.locator(`[data-testid="people-table"] tr[data-person-id="${ed.id}"]`)
    await row.waitFor()
    assert.equal(await page.locator('[data-testid="people-table"] tbody tr').count(), 1)
    assert.equal(await row.locator('select').inputValue(), 'participant')

    await row.locator('select').selectOption('editor')
    await page.locator('[data-testid="people-message"]', { hasText: 'is now editor' }).waitFor()
    await page.waitForFunction(
      (id) =>
        (document.querySelector(`tr[data-person-id="${id}"] select`) as HTMLSelectElement | null)?.value ===
        'editor',
      ed.id,
    )
    const stored = await suite.server.app.inject({
      url: `/api/users?q=${encodeURIComponent(ed.email)}`,
      headers: { 'x-api-key': ADMIN_KEY },
    })
    assert.equal(json(stored).people[0].role, 'editor')

    // The person signs in by password: the console opens for them.
    const theirs = await openPage(await suite.newContext(), `${suite.server.baseUrl}/admin`)
    const form = theirs.page.locator('form[data-testid="password-form"]')
    await form.locator('#login-email').fill(ed.email)
    await form.locator('#login-password').fill(PASSWORD)
    await form.locator('button[type="submit"]').click()
    await theirs.page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    // An editor is not shown the People page.
    assert.equal(await theirs.page.locator('.sidebar a', { hasText: 'People' }).count(), 0)
    assert.deepEqual(problems, [])
  })

  test('lowering a role says the person was signed out; no console role for a person without a password', async () => {
    const ed = await person('lower')
    const grant = await suite.server.app.inject({
      method: 'PUT',
      url: `/api/user/${ed.id}/role`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { role: 'editor' },
    })
    assert.equal(grant.statusCode, 200, grant.body)
    const guest = await person('nopass', false)

    const { page, problems } = await adminPage('/admin/people')
    await page.locator('#people-role').selectOption('editor')
    const row = page.locator(`tr[data-person-id="${ed.id}"]`)
    await row.waitFor()
    await row.locator('select').selectOption('participant')
    await page.locator('[data-testid="people-message"]', { hasText: 'signed out everywhere' }).waitFor()
    // Now a participant, the editors' list no longer holds them.
    await row.waitFor({ state: 'detached' })

    await page.locator('#people-role').selectOption('')
    await page.locator('#people-q').fill(guest.email)
    await page.locator('#people-q').press('Enter')
    const guestRow = page.locator(`tr[data-person-id="${guest.id}"]`)
    await guestRow.waitFor()
    assert.equal(await guestRow.locator('option[disabled]').count(), 2, 'editor and admin are not offered')
    await guestRow.locator('.muted', { hasText: 'no password' }).waitFor()
    assert.deepEqual(problems, [])
  })
})
