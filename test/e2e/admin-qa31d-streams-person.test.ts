// The console's Streams wall for a person signed in by email and password, in Chromium (QA 31d):
// the StreamSource registry takes their token as a key of their role, so the wall lists the
// streams with no API key in the tab. An editor pins the stream they added; a stream another key
// added loses its buttons at the server's refusal, saying so in a person's words.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const PASSWORD = 'correct horse battery staple'

describe('admin console, the Streams wall signed in by email and password', () => {
  const suite = browserSuite()

  /** An editor person of the default campaign, given the role by the admin key. */
  async function editor() {
    const { app } = suite.server
    const email = `wall.editor.${randomBytes(4).toString('hex')}@example.org`
    const joined = await app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { 'x-forwarded-for': '10.31.4.1' },
      payload: { campaign: 'ovasabi_website', name: 'Wall Editor', email, password: PASSWORD },
    })
    assert.equal(joined.statusCode, 201, joined.body)
    const role = await app.inject({
      method: 'PUT',
      url: `/api/user/${json(joined).user.id}/role`,
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { role: 'editor' },
    })
    assert.equal(role.statusCode, 200, role.body)
    return email
  }

  async function stream(title: string, headers: Record<string, string>): Promise<number> {
    const res = await suite.server.app.inject({
      method: 'POST',
      url: '/api/v1/streams',
      headers,
      payload: { link: `https://www.twitch.tv/qa31d${randomBytes(4).toString('hex')}`, title },
    })
    assert.equal(res.statusCode, 201, res.body)
    return json(res).stream.id
  }

  const tile = (page: Page, title: string) =>
    page.locator('[data-testid="streams-wall"] article', { hasText: title })
  const buttons = (page: Page, title: string) => tile(page, title).locator('.tile-actions button')

  test('an editor signed in by password sees the wall, pins their own stream, and needs no key', async () => {
    const email = await editor()
    await stream('Admin Key Wall Stream', adminHeaders)
    const { page, problems } = await openPage(await suite.newContext(), `${suite.server.baseUrl}/admin`)
    const form = page.locator('form[data-testid="password-form"]')
    await form.locator('#login-email').fill(email)
    await form.locator('#login-password').fill(PASSWORD)
    await form.locator('button[type="submit"]').click()

    await page.locator('.sidebar a', { hasText: 'Streams wall' }).click()
    await tile(page, 'Admin Key Wall Stream').waitFor()
    const [token, key] = await page.evaluate(() => [
      sessionStorage.getItem('ovasabi.admin.token'),
      sessionStorage.getItem('ovasabi.admin.apiKey'),
    ])
    assert.ok(token, 'signed in by a token')
    assert.equal(key, null, 'no API key in the tab')
    assert.equal(await page.locator('[data-testid="streams-need-key"]').count(), 0)
    assert.match(
      (await page.locator('[data-testid="streams-editor-note"]').textContent()) ?? '',
      /Signed in as an editor: you pin and archive the streams you added/,
    )

    // A stream the person added with their own token (as the wall's registry sees them): theirs to pin.
    await stream('Person Own Wall Stream', { authorization: `Bearer ${token}` })
    await page.locator('#wall-status').selectOption('unknown')
    await buttons(page, 'Person Own Wall Stream').first().waitFor()
    assert.deepEqual(await buttons(page, 'Person Own Wall Stream').allTextContents(), ['Pin', 'Archive'])
    await buttons(page, 'Person Own Wall Stream').first().click()
    await page
      .locator('[data-testid="streams-wall"] article[data-pinned="true"]', {
        hasText: 'Person Own Wall Stream',
      })
      .waitFor()

    // The admin key's stream: the server refuses the editor, the wall says why and drops its buttons.
    await buttons(page, 'Admin Key Wall Stream').first().click()
    const alert = page.locator('.notice[role="alert"]')
    await alert.waitFor()
    assert.match(
      (await alert.textContent()) ?? '',
      /added by someone else: only an admin or the person or key/,
    )
    await tile(page, 'Admin Key Wall Stream').locator('.tile-actions').waitFor({ state: 'detached' })
    // Still signed in: a refusal of one stream is no refusal of the sign-in.
    assert.equal(await page.locator('form[data-testid="password-form"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})
