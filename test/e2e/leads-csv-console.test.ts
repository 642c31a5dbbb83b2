// The admin console's leads export as a spreadsheet user gets it, in Chromium: a UTF-8 file with a
// byte order mark (Excel reads one without it in a legacy code page), formula cells neutralised,
// the small-form signs ﹦ ﹢ ﹣ ﹫ included.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, test } from 'node:test'
import { ADMIN_KEY, createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

describe('admin console, leads CSV export', () => {
  const suite = browserSuite()

  test('downloads UTF-8 with a byte order mark, formula cells behind an apostrophe', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote'] })
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const sent = await suite.server.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${json(session).token}` },
      payload: {
        campaign: slug,
        name: 'José Müller 山田',
        email: 'jose@example.org',
        company: '﹦HYPERLINK("http://evil.example","x")',
        message: '﹫SUM(1+1)',
      },
    })
    assert.equal(sent.statusCode, 200, sent.body)

    const context = await suite.newContext()
    await context.addInitScript((key) => sessionStorage.setItem('ovasabi.admin.apiKey', key), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/leads`)
    await page.locator('[data-testid="leads-table"] tr', { hasText: 'José Müller 山田' }).waitFor()
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="leads-csv"]').click(),
    ])
    assert.equal(download.suggestedFilename(), `${slug}-leads.csv`)
    const bytes = await readFile((await download.path())!)
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte order mark first')
    const text = bytes.subarray(3).toString('utf8')
    assert.ok(text.startsWith('id,created_at,'), text.slice(0, 40))
    assert.ok(text.includes('José Müller 山田'), 'names survive as UTF-8')
    assert.ok(text.includes(`"'﹦HYPERLINK(""http://evil.example"",""x"")"`), text)
    assert.ok(text.includes("'﹫SUM(1+1)"), text)
    assert.deepEqual(problems, [])
  })
})
