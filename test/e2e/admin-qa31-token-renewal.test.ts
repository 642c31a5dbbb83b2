// A console signed in by a person's password renews their token before it expires (QA 31), in
// Chromium: the console stays signed in past the old token's expiry, the new token is kept for
// the tab, and a renewal the server refuses still ends the sign-in.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { json } from '../helper.js'
import { personWithRole } from '../people-fixtures.js'
import { browserSuite, openPage } from './harness.js'

const PASSWORD = 'correct horse battery staple'

describe('admin console, renewing a person’s sign-in', () => {
  const suite = browserSuite()

  /** An editor who joined with a password, and a token of theirs from a login. */
  const signedInEditor = () =>
    personWithRole(suite.server.app, 'ovasabi_website', 'editor', {
      name: 'Renewing Editor',
      password: PASSWORD,
    })

  /**
   * The console opened with `token` stored as the tab's sign-in, said to expire a few seconds from
   * now: a token near its end, without waiting a day for one.
   */
  async function consoleWith(token: string) {
    const context = await suite.newContext()
    await context.addInitScript(
      ([t, expires]) => {
        if (sessionStorage.getItem('ovasabi.admin.token')) return
        sessionStorage.setItem('ovasabi.admin.token', t!)
        sessionStorage.setItem('ovasabi.admin.token.expires', expires!)
      },
      [token, new Date(Date.now() + 6_000).toISOString()],
    )
    return openPage(context, `${suite.server.baseUrl}/admin`)
  }

  const stored = (page: import('playwright-core').Page) =>
    page.evaluate(() => ({
      token: sessionStorage.getItem('ovasabi.admin.token'),
      expires: sessionStorage.getItem('ovasabi.admin.token.expires'),
    }))

  test('a token near its expiry is renewed, kept for the tab, and the console stays signed in', async () => {
    const editor = await signedInEditor()
    const { page, problems } = await consoleWith(editor.token)
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    await page.waitForFunction((old) => sessionStorage.getItem('ovasabi.admin.token') !== old, editor.token, {
      timeout: 30_000,
    })
    const renewed = await stored(page)
    assert.ok(renewed.token)
    // The server's expiry (a day by default), not the short one the tab started with.
    assert.ok(Date.parse(renewed.expires!) > Date.now() + 60 * 60_000, renewed.expires!)
    const me = await suite.server.app.inject({
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${renewed.token}` },
    })
    assert.equal(me.statusCode, 200, me.body)
    assert.equal(json(me).user.id, editor.id)
    assert.deepEqual(json(me).roles, ['editor'])
    // Past the old expiry the console is still signed in, and works with the new token.
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).click()
    await page.locator('nav.tabs a', { hasText: 'Settings' }).waitFor()
    assert.equal(await page.locator('form[data-testid="password-form"]').count(), 0)
    assert.deepEqual(problems, [])
  })

  test('a renewal refused with SESSION_EXPIRED (the sign-in is too old) sends the console to sign-in, not a retry', async () => {
    const editor = await signedInEditor()
    const { app } = suite.server
    // Authenticated 31 days ago (past the default 30-day maximum age), the token itself fresh.
    const old = await app.platform.tokens.issueUser({
      userId: editor.id,
      sessionId: (await app.platform.tokens.verify(editor.token)).session_id,
      roles: ['editor'],
      validAfter: null,
      authTime: Math.floor(Date.now() / 1000) - 31 * 86_400,
    })
    const { page } = await consoleWith(old.token)
    await page.locator('[data-testid="session-expired"]').waitFor({ timeout: 30_000 })
    assert.deepEqual(await stored(page), { token: null, expires: null })
    assert.equal(await page.locator('form[data-testid="password-form"]').count(), 1)
  })

  test('a renewal refused (the person signed out everywhere) sends the console to sign-in', async () => {
    const editor = await signedInEditor()
    const { page } = await consoleWith(editor.token)
    await page.locator('[data-testid="campaign-list"] a', { hasText: 'ovasabi_website' }).waitFor()
    const out = await suite.server.app.inject({
      method: 'POST',
      url: '/api/auth/logout/all',
      headers: { authorization: `Bearer ${editor.token}` },
    })
    assert.equal(out.statusCode, 200, out.body)
    await page.locator('[data-testid="session-ended"]').waitFor({ timeout: 30_000 })
    assert.deepEqual(await stored(page), { token: null, expires: null })
  })
})
