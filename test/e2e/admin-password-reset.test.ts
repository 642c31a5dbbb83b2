// A forgotten password, reset by mail from the admin console, in Chromium: the sign-in page asks
// for a link, the link arrives at a real SMTP receiver, its page (open without signing in) refuses
// a weak password and a mistyped confirmation, then sets the new one, which signs in; the old
// password and sessions no longer work, and the link does not work twice.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { personWithRole } from '../people-fixtures.js'
import { mailingBrowserSuite, openPage, PHONE, screenshot } from './harness.js'

const OLD_PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'tulip window 7 kettle'
const SENT = 'If an account has this email, a link to choose a new password is on its way.'

describe('admin console, a forgotten password reset by mail', () => {
  const suite = mailingBrowserSuite()

  /** The console's sign-in page, the forgot form opened from it. */
  async function openForgotForm(page: Page) {
    await page.locator('form[data-testid="password-form"]').waitFor()
    await page.getByRole('button', { name: 'Forgot your password?' }).click()
    const form = page.locator('form[data-testid="forgot-form"]')
    await form.waitFor()
    return form
  }

  async function choose(page: Page, password: string, confirm = password) {
    await page.getByLabel('New password', { exact: true }).fill(password)
    await page.getByLabel('New password again').fill(confirm)
    await page.getByRole('button', { name: 'Change the password' }).click()
  }

  test('a person asks for a link, sets a new password through it, and signs in with it', async () => {
    const person = await personWithRole(suite.server.app, 'ovasabi_website', 'editor', {
      name: 'Reset Person',
      password: OLD_PASSWORD,
    })
    const desk = await openPage(await suite.newContext(), `${suite.server.baseUrl}/admin`)
    await desk.page.locator('form[data-testid="password-form"]').waitFor()
    await screenshot(desk.page, 'admin-password-sign-in')
    const forgot = await openForgotForm(desk.page)
    await forgot.getByLabel('Email').fill(person.email)
    await forgot.getByRole('button', { name: 'Send the link' }).click()
    const status = desk.page.locator('[data-testid="forgot-status"]')
    await status.getByText(SENT).waitFor()
    assert.equal(await status.getAttribute('role'), 'status')
    assert.match((await status.textContent()) ?? '', /works for 30 minutes/)
    await screenshot(desk.page, 'admin-password-forgot-sent')

    const mail = await suite.smtp.waitForMessage(person.email)
    const link = /https?:\/\/\S+#token=[A-Za-z0-9_~.%+/=-]+/.exec(mail.text)?.[0]
    assert.ok(link, `a link in the mail: ${mail.text}`)
    assert.ok(link.startsWith(`${suite.server.baseUrl}/admin/reset-password#token=`), link)
    const opened = link

    // Opened on a phone, where the mail was read: no sign-in in that browser.
    const phone = await openPage(await suite.newContext(PHONE), opened)
    const resets: string[] = []
    phone.page.on('request', (r) => {
      if (r.url().endsWith('/api/auth/password/reset')) resets.push(r.url())
    })
    await phone.page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
    // The token is out of the address bar (and so out of the tab's history) at once.
    assert.equal(phone.page.url(), `${suite.server.baseUrl}/admin/reset-password`)
    assert.equal(
      await phone.page.getByLabel('New password', { exact: true }).getAttribute('autocomplete'),
      'new-password',
    )

    await choose(phone.page, 'abc')
    const weak = phone.page.locator('[data-testid="reset-weak"]')
    await weak.waitFor()
    assert.equal(await weak.getAttribute('role'), 'alert')
    assert.match((await weak.textContent()) ?? '', /at least 10 characters/)
    assert.equal(
      await phone.page.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'),
      'true',
    )
    await screenshot(phone.page, 'admin-password-reset-weak-phone')

    // A mistyped confirmation is refused in the page: nothing is sent.
    const sentBefore = resets.length
    await choose(phone.page, NEW_PASSWORD, `${NEW_PASSWORD}!`)
    const mismatch = phone.page.locator('[data-testid="reset-mismatch"]')
    await mismatch.waitFor()
    assert.equal(await mismatch.getAttribute('role'), 'alert')
    assert.equal(resets.length, sentBefore)
    assert.equal(await phone.page.locator('[data-testid="reset-weak"]').count(), 0)

    await choose(phone.page, NEW_PASSWORD)
    const done = phone.page.locator('[data-testid="reset-done"]')
    await done.waitFor()
    assert.equal((await done.textContent())?.trim(), 'Your password is changed. Sign in with it.')
    await screenshot(phone.page, 'admin-password-reset-done-phone')

    // Every session of the person ended, and the old password no longer signs in.
    const me = await suite.server.app.inject({
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${person.token}` },
    })
    assert.equal(me.statusCode, 401, me.body)
    const old = await suite.server.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: person.email, password: OLD_PASSWORD },
    })
    assert.equal(old.statusCode, 401, old.body)

    // "Sign in" goes to the console's sign-in, where the new password works.
    await phone.page.getByRole('link', { name: 'Sign in' }).click()
    await phone.page.locator('form[data-testid="password-form"]').waitFor()
    await desk.page.getByRole('button', { name: 'Back to sign in' }).click()
    const signIn = desk.page.locator('form[data-testid="password-form"]')
    // The address typed for the link stays in the sign-in form.
    assert.equal(await signIn.locator('#login-email').inputValue(), person.email)
    await signIn.locator('#login-password').fill(NEW_PASSWORD)
    await signIn.getByRole('button', { name: 'Sign in' }).click()
    await desk.page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()

    // The same link again: the page cannot know before it is tried; the server refuses it.
    await phone.page.goto(opened)
    await choose(phone.page, 'another 9 good password')
    const invalid = phone.page.locator('[data-testid="reset-invalid"]')
    await invalid.waitFor()
    assert.equal(
      (await invalid.textContent())?.trim(),
      'This link is no longer valid (it expired, was used, or a newer one was sent). Ask for a new one.',
    )
    // Its way on is the forgot form, the address back to the sign-in's own.
    await phone.page.getByRole('link', { name: 'Ask for a new link' }).click()
    await phone.page.locator('form[data-testid="forgot-form"]').waitFor()
    assert.equal(phone.page.url(), `${suite.server.baseUrl}/admin`)
    assert.deepEqual(desk.problems, [])
    assert.deepEqual(phone.problems, [])
  })

  test('the reset page without a token says the link is not valid', async () => {
    const { page, problems } = await openPage(
      await suite.newContext(),
      `${suite.server.baseUrl}/admin/reset-password`,
    )
    const invalid = page.locator('[data-testid="reset-invalid"]')
    await invalid.waitFor()
    assert.equal(await invalid.getAttribute('role'), 'alert')
    assert.equal(await page.locator('form[data-testid="reset-form"]').count(), 0)
    assert.deepEqual(problems, [])
  })

  test('a server that cannot send mail, and a rate limit, are said on the forgot form', async () => {
    const context = await suite.newContext()
    let answer = { status: 503, code: 'MAIL_UNAVAILABLE', headers: {} as Record<string, string> }
    await context.route('**/api/auth/password/forgot', (route) =>
      route.fulfill({
        status: answer.status,
        contentType: 'application/json',
        headers: answer.headers,
        body: JSON.stringify({
          status: 'error',
          error: { code: answer.code, message: 'refused' },
          request_id: 'req-1',
        }),
      }),
    )
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin`)
    const form = await openForgotForm(page)
    await form.getByLabel('Email').fill('someone@example.com')
    await form.getByRole('button', { name: 'Send the link' }).click()
    const error = form.locator('[data-testid="forgot-error"]')
    await error
      .getByText('This server cannot send mail (no SMTP configured): ask an admin to set your password.')
      .waitFor()
    assert.equal(await error.getAttribute('role'), 'alert')

    answer = { status: 429, code: 'RATE_LIMITED', headers: { 'retry-after': '120' } }
    await form.getByRole('button', { name: 'Send the link' }).click()
    await error.getByText('Too many tries for now: try again in 2 minutes.').waitFor()
    assert.equal(await page.locator('[data-testid="forgot-status"]').textContent(), '')
    assert.deepEqual(problems, [])
  })
})
