// The console's streams wall with more streams than one page holds, in Chromium: every stream is
// reachable, the count says how many there are, and a status filter starts again at page one.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { ADMIN_KEY, adminHeaders } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const LIVE = 3
const OTHERS = 102

async function titlesShown(page: Page): Promise<string[]> {
  return page.locator('[data-testid="streams-wall"] article strong').allTextContents()
}

describe('admin console, streams wall paging', () => {
  const suite = browserSuite()

  test('reaches every stream past the first hundred; a filter change goes back to page one', async () => {
    const all: string[] = []
    for (let i = 0; i < LIVE + OTHERS; i++) {
      const title = `Wall stream ${String(i).padStart(3, '0')}`
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: adminHeaders,
        payload: {
          link: `https://www.twitch.tv/wallchannel${i}`,
          title,
          status: i < LIVE ? 'live' : 'offline',
        },
      })
      assert.equal(res.statusCode, 201, res.body)
      all.push(title)
    }

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/streams`)
    const pager = page.locator('[data-testid="streams-pager"]')
    await pager.waitFor()
    assert.match((await pager.textContent()) ?? '', /Streams 1–100 of 105/)
    const first = await titlesShown(page)
    assert.equal(first.length, 100)

    await pager.getByRole('button', { name: 'Next' }).click()
    await pager.getByText('Streams 101–105 of 105').waitFor()
    const second = await titlesShown(page)
    assert.equal(second.length, 5)
    assert.deepEqual([...first, ...second].sort(), all, 'the two pages hold every stream, once')
    assert.equal(await pager.getByRole('button', { name: 'Next' }).isDisabled(), true)

    // On page two, a filter with fewer than a page of matches shows them, not an empty page two.
    await page.locator('#wall-status').selectOption('live')
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="streams-wall"] article').length === 3,
    )
    assert.deepEqual((await titlesShown(page)).sort(), all.slice(0, LIVE))
    assert.equal(await pager.count(), 0, 'no pager while everything fits on one page')
    assert.deepEqual(problems, [])
  })
})
