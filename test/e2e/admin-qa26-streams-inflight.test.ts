// Pin and Archive on the console's streams wall, in Chromium: while the request is on its way the
// buttons wait, so a second click sends nothing (and Archive does not ask again).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page, Route } from 'playwright-core'
import { ADMIN_KEY, adminHeaders, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, streams wall actions in flight', () => {
  const suite = browserSuite()

  async function stream(title: string): Promise<number> {
    const res = await suite.server.app.inject({
      method: 'POST',
      url: '/api/v1/streams',
      headers: adminHeaders,
      payload: {
        link: `https://www.twitch.tv/${title.replace(/\W/g, '').toLowerCase()}`,
        title,
        status: 'live',
      },
    })
    assert.equal(res.statusCode, 201, res.body)
    return json(res).stream.id
  }

  /** The wall open, and every request to `path` by `method` held until released. */
  async function openHolding(method: string, path: RegExp) {
    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/streams`)
    const held: Route[] = []
    let arrived: () => void = () => {}
    // Bounded, so a request that never comes fails the test instead of hanging it.
    const first = new Promise<void>((resolve, reject) => {
      arrived = resolve
      setTimeout(() => reject(new Error(`no ${method} request came`)), 15_000).unref()
    })
    await page.route(path, (route) => {
      if (route.request().method() !== method) return route.continue()
      held.push(route)
      arrived()
    })
    return { page, problems, held, first }
  }

  const tile = (page: Page, title: string) =>
    page.locator('[data-testid="streams-wall"] article', { hasText: title })

  test('a double click on Pin sends one pin', async () => {
    const id = await stream('Pin Twice')
    const { page, problems, held, first } = await openHolding('PUT', /\/api\/v1\/streams\/\d+\/pin$/)
    const pin = tile(page, 'Pin Twice').locator('.tile-actions button').first()
    await pin.click()
    await first
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid="streams-wall"] .tile-actions button') as HTMLButtonElement)
          ?.disabled,
    )
    await pin.click({ force: true })
    assert.equal(held.length, 1)
    for (const r of held.splice(0)) await r.continue()
    await page
      .locator('[data-testid="streams-wall"] article[data-pinned="true"]', { hasText: 'Pin Twice' })
      .waitFor()
    assert.equal(await pin.isDisabled(), false, 'the button works again once answered')
    assert.equal(held.length, 0, 'no second pin was sent')
    const stored = await suite.server.app.inject({ url: `/api/v1/streams/${id}`, headers: adminHeaders })
    assert.equal(json(stored).stream.is_pinned, true)
    assert.deepEqual(problems, [])
  })

  test('a double click on Archive asks once and sends one archive', async () => {
    await stream('Archive Twice')
    const { page, problems, held, first } = await openHolding('PATCH', /\/api\/v1\/streams\/\d+$/)
    let dialogs = 0
    page.on('dialog', (d) => {
      dialogs++
      void d.accept()
    })
    const archive = tile(page, 'Archive Twice').locator('.tile-actions button').nth(1)
    await archive.click()
    await first
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="streams-wall"] article')].some(
        (a) =>
          a.textContent?.includes('Archive Twice') &&
          (a.querySelectorAll('.tile-actions button')[1] as HTMLButtonElement).disabled,
      ),
    )
    await archive.click({ force: true })
    assert.equal(held.length, 1)
    for (const r of held.splice(0)) await r.continue()
    await tile(page, 'Archive Twice').waitFor({ state: 'detached' })
    assert.equal(dialogs, 1, 'asked once')
    assert.equal(held.length, 0, 'no second archive was sent')
    assert.deepEqual(problems, [])
  })
})
