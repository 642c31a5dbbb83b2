// The console's streams wall signed in with an editor's API key, in Chromium (QA 27): the registry
// lets an editor pin and archive only the streams it added itself (an admin any stream), so Pin
// and Archive are offered on those alone; a stream another key added, which the wall cannot tell
// apart, loses its buttons at the server's first refusal, saying why. The admin-only notices read
// "Webhooks are…" and "The service graph is…".
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { account } from '../streamsource/helpers.js'
import { browserSuite, openPage } from './harness.js'

describe("admin console, streams wall with an editor's key", () => {
  const suite = browserSuite()

  async function stream(title: string, headers: Record<string, string>): Promise<number> {
    const res = await suite.server.app.inject({
      method: 'POST',
      url: '/api/v1/streams',
      headers,
      payload: { link: `https://www.twitch.tv/${title.replace(/\W/g, '').toLowerCase()}`, title },
    })
    assert.equal(res.statusCode, 201, res.body)
    return json(res).stream.id
  }

  async function signedIn(key: string, path: string) {
    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), key)
    return openPage(context, `${suite.server.baseUrl}${path}`)
  }

  const tile = (page: Page, title: string) =>
    page.locator('[data-testid="streams-wall"] article', { hasText: title })
  const buttons = (page: Page, title: string) => tile(page, title).locator('.tile-actions button')

  test('Pin and Archive on the streams the key added; none on those the server refuses it', async () => {
    const { key } = await suite.server.app.platform.apiKeys.create({ name: 'wall-ed', role: 'editor' })
    await stream('Editor Own Stream', { authorization: `Bearer ${key}` })
    const person = await account(suite.server.app, 'editor')
    await stream('Account Added Stream', person.headers)
    await stream('Admin Key Stream', adminHeaders)

    const { page, problems } = await signedIn(key, '/admin/streams')
    await buttons(page, 'Editor Own Stream').first().waitFor()
    assert.deepEqual(await buttons(page, 'Editor Own Stream').allTextContents(), ['Pin', 'Archive'])
    // Added by a registry account: never this key's, the server refuses it.
    assert.equal(await buttons(page, 'Account Added Stream').count(), 0)
    assert.equal(await page.locator('[data-testid="streams-editor-note"]').count(), 1)

    // Its own stream pins.
    await buttons(page, 'Editor Own Stream').first().click()
    await page
      .locator('[data-testid="streams-wall"] article[data-pinned="true"]', { hasText: 'Editor Own Stream' })
      .waitFor()

    // Added by another key: the server's refusal takes its buttons away and says why.
    await buttons(page, 'Admin Key Stream').first().click()
    const alert = page.locator('.notice[role="alert"]')
    await alert.waitFor()
    assert.match(
      (await alert.textContent()) ?? '',
      /added by another key: only an admin’s key or the key that added it/,
    )
    await page.waitForFunction(
      () =>
        ![...document.querySelectorAll('[data-testid="streams-wall"] article')].some(
          (a) => a.textContent?.includes('Admin Key Stream') && a.querySelector('.tile-actions'),
        ),
    )
    assert.equal(await tile(page, 'Admin Key Stream').getAttribute('data-pinned'), 'false')
    assert.deepEqual(problems, [])
  })

  test("an admin's key is offered Pin and Archive on every stream", async () => {
    const person = await account(suite.server.app, 'editor')
    await stream('Account Stream For Admin', person.headers)
    const { page, problems } = await signedIn(ADMIN_KEY, '/admin/streams')
    await buttons(page, 'Account Stream For Admin').first().waitFor()
    assert.deepEqual(await buttons(page, 'Account Stream For Admin').allTextContents(), ['Pin', 'Archive'])
    assert.equal(await page.locator('[data-testid="streams-editor-note"]').count(), 0)
    assert.deepEqual(problems, [])
  })

  test('the admin-only notices say "are" and "is" as their nouns take them', async () => {
    const slug = await createCampaign(suite.server.app)
    const { key } = await suite.server.app.platform.apiKeys.create({ name: 'notice-ed', role: 'editor' })
    const { page: hooks, problems } = await signedIn(key, `/admin/c/${slug}/webhooks`)
    await hooks.locator('[data-testid="admin-only"]').waitFor()
    assert.match(
      (await hooks.locator('[data-testid="admin-only"]').textContent()) ?? '',
      /^Webhooks are for admins: .* to use them\.$/,
    )
    const { page: graph } = await signedIn(key, '/admin/graph')
    await graph.locator('[data-testid="admin-only"]').waitFor()
    assert.match(
      (await graph.locator('[data-testid="admin-only"]').textContent()) ?? '',
      /^The service graph is for admins: .* to use it\.$/,
    )
    assert.deepEqual(problems, [])
  })
})
