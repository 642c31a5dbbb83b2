// The dashboard's events table and the service graph's impact list, in Chromium: both are the
// console's one DataTable now, so each is a table named to screen readers, with the same rows,
// cells and look as before (the events table has no visible heading row and fits a phone).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ADMIN_KEY, adminHeaders, createCampaign, json } from '../helper.js'
import { browserSuite, openPage, PHONE, screenshot } from './harness.js'

describe('admin console, the dashboard and graph tables', () => {
  const suite = browserSuite()

  test('the dashboard lists events by action in a named table without a visible heading row', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['quote', 'analytics'] })
    for (const name of ['Grace Hopper', 'Alan Turing']) {
      const guest = json(await suite.server.app.inject({ method: 'POST', url: '/api/session' }))
      const res = await suite.server.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, name, email: 'someone@example.org', message: 'A launch page' },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const stats = json(
      await suite.server.app.inject({ url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
    )
    assert.equal(stats.events['quote.submit'], 2, JSON.stringify(stats.events))

    for (const options of [{}, PHONE]) {
      const context = await suite.newContext(options)
      await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), ADMIN_KEY)
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/c/${slug}/dashboard`)
      const table = page.getByRole('table', { name: 'Events by action' })
      const row = table.locator('tbody tr', { hasText: 'quote.submit' })
      await row.waitFor()
      assert.deepEqual(await row.locator('td').allTextContents(), ['quote.submit', '2'])
      assert.equal(await row.locator('td code').textContent(), 'quote.submit')
      assert.equal(await row.locator('td.num').textContent(), '2')
      // The columns are named to screen readers, and their heading row takes no room.
      assert.deepEqual(await table.getByRole('columnheader').allTextContents(), ['Action', 'Events'])
      const head = await table.locator('thead').boundingBox()
      assert.equal(head?.height, 0)
      // Two short columns fit the panel: no sideways scroller on a phone.
      const fits = await table.evaluate((t) => {
        const wrap = t.parentElement!
        return wrap.scrollWidth <= wrap.clientWidth
      })
      assert.ok(fits, 'the events table is no wider than its panel')
      await screenshot(page, `admin-qa34-dashboard-${options === PHONE ? 'phone' : 'desktop'}`)
      assert.deepEqual(problems, [])
    }
  })

  test('the service graph lists what relies on a node in a named table, or says nothing does', async () => {
    const graph = json(await suite.server.app.inject({ url: '/api/amadeus/graph', headers: adminHeaders }))
    const impact = json(
      await suite.server.app.inject({ url: '/api/amadeus/impact?node=module:quote', headers: adminHeaders }),
    )
    assert.ok(impact.count > 0, 'the quote endpoints and actions rely on the quote module')
    // A node nothing relies on: a campaign relies on its features, not the other way.
    let alone: { id: string; label: string } | undefined
    for (const n of graph.nodes.filter((n: { type: string }) => n.type === 'campaign')) {
      const r = json(
        await suite.server.app.inject({
          url: `/api/amadeus/impact?node=${encodeURIComponent(n.id)}`,
          headers: adminHeaders,
        }),
      )
      if (r.count === 0) {
        alone = n
        break
      }
    }
    assert.ok(alone, 'a campaign node nothing relies on')

    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/graph`)
    await page.locator('[data-testid="graph-node"]').selectOption('module:quote')
    const table = page.getByRole('table', { name: 'Relies on quote' })
    await table.waitFor()
    assert.equal(await table.getAttribute('data-testid'), 'graph-impact')
    assert.ok(await table.evaluate((t) => t.parentElement!.matches('.table-wrap.impact-list')))
    assert.deepEqual(await table.getByRole('columnheader').allTextContents(), [
      'Node',
      'Type',
      'Distance',
      'Through',
    ])
    assert.equal(await table.locator('tbody tr').count(), impact.count)
    const first = impact.impacted[0]
    const row = table.locator('tbody tr').first()
    assert.deepEqual(await row.locator('td').allTextContents(), [
      first.node.label,
      first.node.type,
      String(first.distance),
      first.path.map((p: { type: string }) => p.type).join(' → '),
    ])
    assert.equal(await row.locator('td code').textContent(), first.node.label)
    assert.equal(await row.locator('td.muted.small').count(), 1)
    await screenshot(page, 'admin-qa34-graph-impact')

    await page.locator('[data-testid="graph-node"]').selectOption(alone.id)
    await page
      .locator('.panel', { hasText: `Relies on ${alone.label} (0)` })
      .locator('p.muted', {
        hasText: 'Nothing relies on this node.',
      })
      .waitFor()
    assert.equal(await page.locator('[data-testid="graph-impact"]').count(), 0)
    assert.deepEqual(problems, [])
  })
})

describe('admin console, the service graph picker', () => {
  const suite = browserSuite()

  test('lists only the nodes whose type and name hold every word typed, and the picked one', async () => {
    const graph = json(await suite.server.app.inject({ url: '/api/amadeus/graph', headers: adminHeaders }))
    type Node = { id: string; type: string; label: string }
    const matching = (words: string[]) =>
      (graph.nodes as Node[]).filter((n) =>
        words.every((w) => `${n.type} ${n.label}`.toLowerCase().includes(w)),
      )
    const found = matching(['endpoint', 'quote'])
    assert.ok(found.length > 0 && found.length < graph.nodes.length, 'some nodes, not all')
    assert.ok(!found.some((n) => n.id === 'module:quote'))

    const context = await suite.newContext()
    await context.addInitScript((k) => sessionStorage.setItem('ovasabi.admin.apiKey', k), ADMIN_KEY)
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/admin/graph`)
    const select = page.locator('[data-testid="graph-node"]')
    await select.selectOption('module:quote')
    const options = () =>
      select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    assert.equal((await options()).length, graph.nodes.length + 1)

    await page.getByLabel('Find').fill('  Endpoint   QUOTE ')
    const listed = await options()
    assert.deepEqual(
      listed.filter(Boolean).sort(),
      [...found.map((n) => n.id), 'module:quote'].sort(),
      'the matches, and the picked node kept',
    )
    assert.equal(await select.inputValue(), 'module:quote')
    assert.equal(
      await select.locator('option[value=""]').textContent(),
      `Pick one of ${found.length + 1} nodes…`,
    )
    await screenshot(page, 'admin-graph-picker-filter')

    await page.getByLabel('Find').fill('')
    assert.equal((await options()).length, graph.nodes.length + 1)
    assert.equal(await select.locator('option[value=""]').textContent(), 'Pick a node…')
    assert.deepEqual(problems, [])
  })
})
