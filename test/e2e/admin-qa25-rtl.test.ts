// Visitor text written right to left (Arabic, Hebrew) in the admin console's leads table, in
// Chromium: each name, company and message takes its own direction, so it reads from the right
// with its punctuation at its end, beside left-to-right rows.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, right-to-left visitor text', () => {
  const suite = browserSuite()

  test('an Arabic lead reads right to left, an English one left to right', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    for (const lead of [
      { name: 'مريم الحسن (المديرة)', company: 'شركة النور.', message: 'نريد عرض سعر للمشروع!' },
      { name: 'Ada Lovelace (CTO)', company: 'Analytical Engines.', message: 'A quote, please!' },
    ]) {
      const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
      const sent = await suite.server.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${json(session).token}` },
        payload: { campaign: slug, email: 'lead@example.org', ...lead },
      })
      assert.equal(sent.statusCode, 200, sent.body)
    }

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    const directions = async (text: string) => {
      const row = page.locator('[data-testid="leads-table"] tbody tr', { hasText: text })
      await row.waitFor()
      // The cells' computed direction (no helper function inside: the test runner renames those).
      return row.evaluate((tr) =>
        [
          tr.querySelector('td:nth-child(1) .clip'),
          tr.querySelector('td:nth-child(3)'),
          tr.querySelector('td:nth-child(4) .clip'),
        ].map((el) => (el ? getComputedStyle(el).direction : 'missing')),
      )
    }
    assert.deepEqual(await directions('مريم الحسن'), ['rtl', 'rtl', 'rtl'])
    assert.deepEqual(await directions('Ada Lovelace'), ['ltr', 'ltr', 'ltr'])
    assert.deepEqual(problems, [])
  })
})
