// The console's API keys page (admin), in Chromium: an admin makes a key limited to one campaign,
// sees its key once (it works, for that campaign), sees it listed, and revokes it, after which the
// key is refused; the configured key cannot be revoked there; an editor is not shown the page.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, the API keys page', () => {
  const suite = browserSuite()

  async function consolePage(path: string, key = ADMIN_KEY) {
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), key)
    return openPage(context, `${suite.server.baseUrl}${path}`)
  }

  const me = (key: string) => suite.server.app.inject({ url: '/api/auth/me', headers: { 'x-api-key': key } })

  test('an admin makes a key for one campaign, sees it once and listed, and revokes it', async () => {
    const slug = await createCampaign(suite.server.app)
    const name = `e2e key ${Date.now()}`
    const { page, problems } = await consolePage('/admin')
    await page.locator('.sidebar a', { hasText: 'API keys' }).click()
    await page.locator('h1', { hasText: 'API keys' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/admin/apikeys')

    const form = page.locator('form[data-testid="apikey-form"]')
    await form.locator('#apikey-name').fill(name)
    await form.locator('#apikey-role').selectOption('editor')
    await form.locator('#apikey-days').fill('30')
    await form.locator('#apikey-campaigns').selectOption([slug])
    await form.locator('button[type="submit"]').click()

    // The key, shown this once, with the warning and a copy button.
    const shown = page.locator('[data-testid="apikey-created"]')
    await shown.waitFor()
    assert.match((await shown.textContent()) ?? '', /you will not see it again/)
    await shown.locator('button', { hasText: 'Copy' }).waitFor()
    const key = ((await shown.locator('[data-testid="apikey-value"]').textContent()) ?? '').trim()
    assert.ok(key.length >= 20, key)
    const works = await me(key)
    assert.equal(works.statusCode, 200, works.body)

    // Listed with its role, its one campaign and no use yet shown as such.
    const created = await suite.server.app.inject({
      url: '/api/apikeys',
      headers: { 'x-api-key': ADMIN_KEY },
    })
    const record = json(created).keys.find((k: { name: string }) => k.name === name)
    assert.ok(record, 'the key is stored')
    assert.deepEqual(record.campaigns, [slug])
    assert.ok(record.expires_at, 'it expires')
    const row = page.locator(`[data-testid="apikeys-table"] tr[data-key-id="${record.id}"]`)
    await row.waitFor()
    assert.equal(await row.locator('td').nth(1).textContent(), 'editor')
    assert.equal(await row.locator('td.campaigns').textContent(), slug)
    assert.equal(await row.locator('td.status').textContent(), 'active')

    // Once dismissed, the key is not shown again (a reload neither).
    await shown.locator('button', { hasText: 'I have stored it' }).click()
    await shown.waitFor({ state: 'detached' })
    await page.reload()
    await row.waitFor()
    assert.equal(await page.getByText(key).count(), 0)

    // Revoking asks first; a refusal keeps it.
    page.once('dialog', (d) => void d.dismiss())
    await row.locator('button', { hasText: 'Revoke' }).click()
    assert.equal(await row.locator('td.status').textContent(), 'active')
    page.once('dialog', (d) => {
      assert.match(d.message(), /Revoke the key/)
      void d.accept()
    })
    await row.locator('button', { hasText: 'Revoke' }).click()
    await page.locator('[data-testid="apikeys-message"]', { hasText: 'is revoked' }).waitFor()
    await page.locator(`tr[data-key-id="${record.id}"][data-status="revoked"]`).waitFor()
    assert.equal(await row.locator('button', { hasText: 'Revoke' }).count(), 0)
    assert.equal((await me(key)).statusCode, 401)
    assert.deepEqual(problems, [])
  })

  test('a key for every campaign says so; an editor is not shown the page', async () => {
    const made = await suite.server.app.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { name: `editor ${Date.now()}`, role: 'editor' },
    })
    assert.equal(made.statusCode, 201, made.body)
    const { id, key } = json(made)

    const admin = await consolePage('/admin/apikeys')
    await admin.page.locator(`tr[data-key-id="${id}"] td.campaigns`, { hasText: 'all campaigns' }).waitFor()

    // The configured key is listed but not offered for revoking (its setting decides it).
    const configured = admin.page.locator('[data-testid="apikeys-table"] tr', {
      hasText: 'OVASABI_ADMIN_KEY',
    })
    await configured.locator('td', { hasText: 'configured' }).waitFor()
    assert.equal(await configured.locator('button').count(), 0)

    const editor = await consolePage('/admin/apikeys', key)
    await editor.page.locator('[data-testid="admin-only"]').waitFor()
    assert.equal(await editor.page.locator('.sidebar a', { hasText: 'API keys' }).count(), 0)
    assert.deepEqual(admin.problems, [])
  })
})
