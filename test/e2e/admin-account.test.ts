// The console's "Your account" page, in Chromium: a person signed in changes their display name and
// language (only what changed is sent; a field the server refuses is marked), then their password:
// a wrong current one, a mistyped confirmation and a weak new one change nothing, a good one ends
// their other sessions while the console goes on (and survives a reload) on the new token. Where
// the person is signed in is listed; one browser is signed out there, or every one but this
// console, which goes on (and survives a reload) on the token that answers. A console signed in
// with an API key has no account to show.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, json } from '../helper.js'
import { personWithRole } from '../people-fixtures.js'
import { waitFor } from '../wait-for.js'
import { browserSuite, mailingBrowserSuite, openPage, screenshot } from './harness.js'

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'tulip window 7 kettle'

describe('admin console, Your account', () => {
  const suite = browserSuite()

  const editor = () =>
    personWithRole(suite.server.app, 'ovasabi_website', 'editor', {
      name: 'Account Person',
      password: PASSWORD,
    })

  /** The console in a new context, signed in by the person's email and password. */
  async function signedIn(email: string) {
    const opened = await openPage(await suite.newContext(), `${suite.server.baseUrl}/admin`)
    const form = opened.page.locator('form[data-testid="password-form"]')
    await form.locator('#login-email').fill(email)
    await form.locator('#login-password').fill(PASSWORD)
    await form.locator('button[type="submit"]').click()
    await opened.page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    return opened
  }

  const storedToken = (page: Page) => page.evaluate(() => sessionStorage.getItem('ovasabi.admin.token'))

  /** `GET /api/auth/me` with `token`: its status and, when accepted, the person. */
  async function me(token: string | null) {
    const res = await suite.server.app.inject({
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
    return { status: res.statusCode, user: res.statusCode === 200 ? json(res).user : undefined }
  }

  /** The bodies of the page's requests to `method path`, as sent. */
  function sent(page: Page, method: string, path: string): unknown[] {
    const bodies: unknown[] = []
    page.on('request', (r) => {
      if (r.method() === method && new URL(r.url()).pathname === path) bodies.push(r.postDataJSON())
    })
    return bodies
  }

  async function changePassword(page: Page, current: string, password: string, confirm = password) {
    const form = page.locator('form[data-testid="account-password"]')
    await form.getByLabel('Current password').fill(current)
    await form.getByLabel('New password', { exact: true }).fill(password)
    await form.getByLabel('New password again').fill(confirm)
    await form.getByRole('button', { name: 'Change the password' }).click()
  }

  test('a person changes their name and language, then their password, and the console goes on', async () => {
    const person = await editor()
    const { page, problems } = await signedIn(person.email)
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    await page.locator('h1', { hasText: 'Your account' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/admin/account')
    await page.waitForFunction(() => document.title === 'Your account · Ovasabi console')
    assert.equal(
      await page.locator('.sidebar a', { hasText: 'Your account' }).getAttribute('aria-current'),
      'page',
    )

    const profile = page.locator('form[data-testid="account-profile"]')
    const email = page.locator('[data-testid="account-email"]')
    await email.waitFor()
    assert.match((await email.textContent()) ?? '', new RegExp(person.email.replace(/\./g, '\\.')))
    assert.equal(
      (await email.locator('[data-testid="email-unconfirmed"]').textContent())?.trim(),
      'not confirmed',
    )
    const name = profile.getByLabel('Display name')
    const language = profile.getByLabel('Language')
    assert.equal(await name.inputValue(), 'Account Person')
    assert.equal(await language.inputValue(), '')

    const patches = sent(page, 'PATCH', '/api/auth/me')
    const message = profile.locator('[data-testid="account-profile-message"]')
    // Nothing changed: nothing is sent.
    await profile.getByRole('button', { name: 'Save' }).click()
    await message.getByText('Nothing to save').waitFor()
    assert.equal(await message.getAttribute('role'), 'status')

    // A language the server refuses is marked beside its field, and nothing is saved.
    await language.fill('not a language')
    await profile.getByRole('button', { name: 'Save' }).click()
    const localeError = profile.locator('[data-testid="account-locale-error"]')
    await localeError.getByText('language tag').waitFor()
    assert.equal(await localeError.getAttribute('role'), 'alert')
    assert.equal(await language.getAttribute('aria-invalid'), 'true')
    assert.equal(await name.getAttribute('aria-invalid'), null)
    assert.deepEqual(patches, [{ locale: 'not a language' }])
    const consoleToken = await storedToken(page)
    assert.equal((await me(consoleToken)).user.locale, null)

    // Name (trimmed) and language saved; the language as the server keeps it.
    await name.fill('  Ada Lovelace  ')
    await language.fill('pt_br')
    await profile.getByRole('button', { name: 'Save' }).click()
    await message.getByText('Saved: your name is “Ada Lovelace”').waitFor()
    assert.match((await message.textContent()) ?? '', /in pt-BR/)
    assert.equal(await language.inputValue(), 'pt-BR')
    assert.equal(await name.inputValue(), 'Ada Lovelace')
    assert.equal(await localeError.textContent(), '')
    assert.deepEqual(patches[1], { display_name: 'Ada Lovelace', locale: 'pt_br' })
    let saved = (await me(consoleToken)).user
    assert.equal(saved.display_name, 'Ada Lovelace')
    assert.equal(saved.locale, 'pt-BR')

    // Only the field that changed is sent; emptying the language sets English (null).
    await language.fill('')
    await profile.getByRole('button', { name: 'Save' }).click()
    await message.getByText('English').waitFor()
    assert.deepEqual(patches[2], { locale: null })
    saved = (await me(consoleToken)).user
    assert.equal(saved.display_name, 'Ada Lovelace')
    assert.equal(saved.locale, null)
    assert.equal(patches.length, 3)

    const password = page.locator('form[data-testid="account-password"]')
    const changes = sent(page, 'POST', '/api/auth/password')
    // A mistyped confirmation is refused in the page: nothing is sent.
    await changePassword(page, PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`)
    const mismatch = password.locator('[data-testid="account-mismatch"]')
    await mismatch.waitFor()
    assert.equal(await mismatch.getAttribute('role'), 'alert')
    assert.equal(await password.getByLabel('New password again').getAttribute('aria-invalid'), 'true')
    assert.equal(changes.length, 0)

    // A wrong current password changes nothing: every session of the person still works.
    await changePassword(page, 'not the password at all', NEW_PASSWORD)
    const wrong = password.locator('[data-testid="account-wrong"]')
    await wrong.waitFor()
    assert.equal((await wrong.textContent())?.trim(), 'The current password is wrong.')
    assert.equal(await password.getByLabel('Current password').getAttribute('aria-invalid'), 'true')
    assert.equal(await password.locator('[data-testid="account-mismatch"]').count(), 0)
    assert.equal(changes.length, 1)
    assert.equal((await me(consoleToken)).status, 200)
    assert.equal((await me(person.token)).status, 200)
    assert.equal(await storedToken(page), consoleToken)

    // A weak new password: each problem the server names is listed.
    await changePassword(page, PASSWORD, 'abc')
    const weak = password.locator('[data-testid="account-weak"]')
    await weak.waitFor()
    assert.equal(await weak.getAttribute('role'), 'alert')
    await screenshot(page, 'admin-account-weak-password')
    assert.match((await weak.textContent()) ?? '', /at least 10 characters/)
    assert.ok((await weak.locator('li').count()) >= 2, (await weak.textContent()) ?? '')
    assert.equal(await password.locator('[data-testid="account-wrong"]').count(), 0)
    assert.equal(
      await password.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'),
      'true',
    )
    assert.equal((await me(consoleToken)).status, 200)
    assert.equal((await me(person.token)).status, 200)

    await changePassword(page, PASSWORD, NEW_PASSWORD)
    const done = password.locator('[data-testid="account-password-done"]')
    await done.waitFor()
    assert.equal((await done.textContent())?.trim(), 'Password changed; your other devices are signed out.')
    assert.equal(await done.getAttribute('role'), 'status')
    await screenshot(page, 'admin-account-password-changed')
    assert.equal(await password.locator('[data-testid="account-weak"]').count(), 0)
    for (const label of ['Current password', 'New password again'])
      assert.equal(await password.getByLabel(label).inputValue(), '')
    assert.equal(await password.getByLabel('New password', { exact: true }).inputValue(), '')

    // The tab keeps the new token and its expiry; the old one and the person's other sessions end.
    const { token: newToken, expires } = await page.evaluate(() => ({
      token: sessionStorage.getItem('ovasabi.admin.token'),
      expires: sessionStorage.getItem('ovasabi.admin.token.expires'),
    }))
    assert.ok(newToken && newToken !== consoleToken)
    const now = await me(newToken)
    assert.equal(now.status, 200)
    assert.ok(expires && Date.parse(expires) > Date.now(), String(expires))
    assert.equal((await me(consoleToken)).status, 401)
    assert.equal((await me(person.token)).status, 401)

    // The page still works on the new token, without signing out.
    await name.fill('Ada King')
    await profile.getByRole('button', { name: 'Save' }).click()
    await message.getByText('Saved: your name is “Ada King”').waitFor()
    assert.equal((await me(newToken)).user.display_name, 'Ada King')

    // A reload stays signed in and opens the account page again.
    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.locator('h1', { hasText: 'Your account' }).waitFor()
    await page.locator('[data-testid="account-email"]').waitFor()
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Ada King')
    assert.equal(await page.locator('form[data-testid="password-form"]').count(), 0)

    // The new password signs in; the old one no longer does.
    const login = (pw: string) =>
      suite.server.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'x-forwarded-for': '10.91.0.1' },
        payload: { email: person.email, password: pw },
      })
    assert.equal((await login(NEW_PASSWORD)).statusCode, 200)
    assert.equal((await login(PASSWORD)).statusCode, 401)
    assert.deepEqual(problems, [])
  })

  test('an account without a password, and too many changes, are explained', async () => {
    const person = await editor()
    const { page, problems } = await signedIn(person.email)
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    const password = page.locator('form[data-testid="account-password"]')
    await password.waitFor()
    const refuse = (status: number, code: string, headers: Record<string, string> = {}) =>
      page.route('**/api/auth/password', (route) =>
        route.fulfill({
          status,
          headers,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code, message: 'refused' } }),
        }),
      )
    await refuse(409, 'PASSWORD_NOT_SET')
    await changePassword(page, PASSWORD, NEW_PASSWORD)
    const error = password.locator('[data-testid="account-password-error"]')
    await error.getByText('Forgot your password?').waitFor()
    await page.unroute('**/api/auth/password')
    await refuse(429, 'RATE_LIMITED', { 'retry-after': '120' })
    await changePassword(page, PASSWORD, NEW_PASSWORD)
    await error.getByText('try again in 2 minutes').waitFor()
    // Neither reached the server: the console's sign-in still works.
    assert.equal((await me(await storedToken(page))).status, 200)
    assert.deepEqual(problems, [])
  })

  test('lists where the person is signed in, and signs another browser out', async () => {
    const person = await editor()
    const phone = await suite.server.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: {
        'user-agent':
          'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1',
        'x-forwarded-for': '198.51.100.77',
      },
      payload: { email: person.email, password: PASSWORD },
    })
    assert.equal(phone.statusCode, 200, phone.body)
    const { page, problems } = await signedIn(person.email)
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    const table = page.locator('[data-testid="account-sessions-table"]')
    const other = table.locator(`tr[data-session-id="${json(phone).session_id}"]`)
    await other.getByText('Safari on iPhone').waitFor()
    await other.getByText('198.51.100.77').waitFor()
    const own = table.locator('tr[data-current="true"]')
    await own.getByText('this console').waitFor()
    assert.equal(
      await own.getByRole('button', { name: 'Sign out' }).count(),
      0,
      'this one signs out from the sidebar',
    )

    await other.getByRole('button', { name: 'Sign out' }).click()
    await other.waitFor({ state: 'detached' })
    assert.equal((await me(json(phone).token)).status, 401, 'the phone is signed out')
    assert.equal((await me(await storedToken(page))).status, 200, 'the console is not')
    await page.reload()
    await own.waitFor()
    assert.equal(await table.locator(`tr[data-session-id="${json(phone).session_id}"]`).count(), 0)
    await screenshot(page, 'admin-account-sessions')
    assert.deepEqual(problems, [])
  })

  test('signs out everywhere else: the other browsers end, the console goes on with a new token', async () => {
    const person = await editor()
    // The fixture's own sign-ins (its registration and login) end first: three sessions are listed.
    const fresh = await suite.server.app.inject({
      method: 'POST',
      url: '/api/auth/logout/all',
      headers: { authorization: `Bearer ${person.token}` },
    })
    assert.equal(fresh.statusCode, 200, fresh.body)
    /** A login through the API from another browser (its User-Agent) and network. */
    const elsewhere = async (userAgent: string, ip: string) => {
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'user-agent': userAgent, 'x-forwarded-for': ip },
        payload: { email: person.email, password: PASSWORD },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res) as { token: string; session_id: string }
    }
    const phone = await elsewhere(
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1',
      '198.51.100.78',
    )
    const laptop = await elsewhere(
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      '203.0.113.79',
    )
    const { page, problems } = await signedIn(person.email)
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    const card = page.locator('[data-testid="account-sessions"]')
    const rows = card.locator('[data-testid="account-sessions-table"] tr[data-session-id]')
    const own = card.locator('tr[data-current="true"]')
    await own.getByText('this console').waitFor()
    await card.locator(`tr[data-session-id="${laptop.session_id}"]`).getByText('Firefox').waitFor()
    assert.equal(await rows.count(), 3)
    const ownSession = await own.getAttribute('data-session-id')
    const consoleToken = await storedToken(page)
    const button = card.getByRole('button', { name: 'Sign out everywhere else' })

    // Too many tries: said with the wait, and nothing reached the server.
    await page.route('**/api/auth/logout/others', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'retry-after': '120' },
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'refused' } }),
      }),
    )
    await button.click()
    const error = card.locator('[data-testid="account-sessions-error"]')
    await error.getByText('try again in 2 minutes').waitFor()
    assert.equal((await me(phone.token)).status, 200)
    assert.equal(await rows.count(), 3)
    await page.unroute('**/api/auth/logout/others')

    // While the server answers, the button cannot be pressed again.
    let answer = () => {}
    const held = new Promise<void>((resolve) => {
      answer = resolve
    })
    await page.route('**/api/auth/logout/others', async (route) => {
      await held
      await route.continue()
    })
    await button.click()
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('button')].find((b) => b.textContent === 'Sign out everywhere else')
          ?.disabled === true,
    )
    answer()
    const done = card.locator('[data-testid="account-sessions-done"]')
    await done.waitFor()
    assert.equal(
      (await done.textContent())?.trim(),
      'Signed out of 2 other sessions; only this console is still signed in.',
    )
    assert.equal(await done.getAttribute('role'), 'status')
    assert.equal(await error.count(), 0)
    await page.waitForFunction(() => document.querySelectorAll('tr[data-session-id]').length === 1)
    assert.equal(await own.getAttribute('data-session-id'), ownSession)
    assert.equal(await button.count(), 0, 'nothing else to sign out of')
    await screenshot(page, 'admin-account-signed-out-elsewhere')

    // The other browsers and the console's old token are refused; the tab keeps the new one.
    assert.equal((await me(phone.token)).status, 401)
    assert.equal((await me(laptop.token)).status, 401)
    assert.equal((await me(consoleToken)).status, 401)
    const { token: newToken, expires } = await page.evaluate(() => ({
      token: sessionStorage.getItem('ovasabi.admin.token'),
      expires: sessionStorage.getItem('ovasabi.admin.token.expires'),
    }))
    assert.ok(newToken && newToken !== consoleToken)
    assert.equal((await me(newToken)).status, 200)
    assert.ok(expires && Date.parse(expires) > Date.now(), String(expires))
    const listed = await suite.server.app.inject({
      url: '/api/auth/sessions',
      headers: { authorization: `Bearer ${newToken}` },
    })
    assert.deepEqual(
      json(listed).sessions.map((s: { session_id: string; current: boolean }) => [s.session_id, s.current]),
      [[ownSession, true]],
    )

    // The console goes on: its pages load their data on the new token, without signing out.
    await page.locator('.side-brand').click()
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    await own.getByText('this console').waitFor()
    assert.equal(await rows.count(), 1)

    // A reload stays signed in, on the new token.
    await page.reload({ waitUntil: 'domcontentloaded' })
    await own.getByText('this console').waitFor()
    assert.equal(await rows.count(), 1)
    assert.equal(await page.locator('form[data-testid="password-form"]').count(), 0)
    assert.equal(await storedToken(page), newToken)
    assert.deepEqual(problems, [])
  })

  test('with an API key there is no account: no link, and the page says why', async () => {
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin`)
    // Roles known (an admin's links shown): the account link is still not there.
    await page.locator('.sidebar a', { hasText: 'People' }).waitFor()
    assert.equal(await page.locator('.sidebar a', { hasText: 'Your account' }).count(), 0)
    await page.goto(`${suite.server.baseUrl}/admin/account`)
    const note = page.locator('[data-testid="account-key"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /API key, which has no account/)
    assert.equal(await page.locator('form[data-testid="account-profile"]').count(), 0)
    assert.equal(await page.locator('form[data-testid="account-password"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})

describe('admin console, Your account, a change of address', () => {
  const suite = mailingBrowserSuite()

  test('a person confirms their address, then moves it with a link mailed to the new one', async () => {
    const { app, baseUrl } = suite.server
    const person = await personWithRole(app, 'ovasabi_website', 'editor', {
      name: 'Moving Person',
      password: PASSWORD,
    })
    const opened = await openPage(await suite.newContext(), `${baseUrl}/admin`)
    const { page, problems } = opened
    const login = page.locator('form[data-testid="password-form"]')
    await login.locator('#login-email').fill(person.email)
    await login.locator('#login-password').fill(PASSWORD)
    await login.locator('button[type="submit"]').click()
    await page.locator('.sidebar a', { hasText: 'Your account' }).click()
    const card = page.locator('form[data-testid="account-address"]')
    await card.locator('[data-testid="email-unconfirmed"]').waitFor()

    // Not confirmed: the card mails a link, which the verify page confirms.
    await card.getByRole('button', { name: 'Send a link to confirm it' }).click()
    await card.locator('[data-testid="confirmation-sent"]').getByText(person.email).waitFor()
    const linkOf = (text: string) => /https?:\/\/\S+#token=[A-Za-z0-9_~.%+/=-]+/.exec(text)?.[0]
    const confirmLink = linkOf((await suite.smtp.waitForMessage(person.email)).text)
    assert.ok(confirmLink)
    const other = await openPage(await suite.newContext(), confirmLink)
    await other.page.locator('[data-testid="verify-done"]').waitFor()

    // A wrong password and another account's address change nothing.
    const change = async (email: string, password: string) => {
      await card.getByLabel('New address').fill(email)
      await card.getByLabel('Your password').fill(password)
      await card.getByRole('button', { name: 'Change the address' }).click()
    }
    const error = card.locator('[data-testid="account-address-error"]')
    await change(`elsewhere.${Date.now()}@example.net`, 'not my password 1')
    await error.getByText('The password is wrong.').waitFor()
    const taken = await personWithRole(app, 'ovasabi_website', 'participant', { name: 'Taken Person' })
    await change(taken.email, PASSWORD)
    await error.getByText('Another account has this address').waitFor()

    const next = `moved.${Date.now()}@example.net`
    await change(next, PASSWORD)
    await card.locator('[data-testid="account-address-sent"]').getByText(next).waitFor()
    assert.equal(await error.count(), 0)
    const mail = await suite.smtp.waitForMessage(next)
    assert.equal(mail.subject, 'Confirm your new email address')
    const moveLink = linkOf(mail.text)
    assert.ok(moveLink, mail.text)
    assert.ok(moveLink.startsWith(`${baseUrl}/admin/verify-email#token=`), moveLink)
    // A page of its own: on the page already there, only the address's fragment would change.
    const third = await openPage(await suite.newContext(), moveLink)
    await third.page.locator('[data-testid="verify-done"]').waitFor()

    // The console's session goes on, and shows the new address, confirmed.
    await page.reload()
    const moved = page.locator('form[data-testid="account-address"] [data-testid="account-email"]')
    await moved.getByText(next).waitFor()
    await moved.locator('[data-testid="email-confirmed"]').waitFor()
    // The old address is told.
    await waitFor(
      () =>
        suite.smtp.messages.find(
          (m) => m.to.includes(person.email) && m.subject === 'Your email address was changed',
        ),
      'the notice to the old address',
    )
    await screenshot(page, 'admin-account-address-moved')
    assert.deepEqual(problems, [])
    assert.deepEqual(other.problems, [])
    assert.deepEqual(third.problems, [])
  })
})
