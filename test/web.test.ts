import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { ensureSiteBuilt } from './e2e/harness.js'
import { buildTestApp, type TestContext } from './helper.js'

describe('web plugin: pages and assets', () => {
  let ctx: TestContext
  before(async () => {
    ensureSiteBuilt()
    ctx = await buildTestApp({ env: { DEFAULT_CAMPAIGN: 'launch_day' } })
  })
  after(() => ctx.close())

  test('/ is the site with the default campaign in its meta tag, never cached', async () => {
    const res = await ctx.app.inject({ url: '/' })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    assert.equal(res.headers['cache-control'], 'no-cache')
    assert.match(res.body, /<meta name="ovasabi-campaign" content="launch_day"/)
    assert.ok(!/<script>(?!<\/script>)/.test(res.body), 'no inline script')
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/)
  })

  test('/c/{campaign} writes that slug; a bad slug is a 400, not a page', async () => {
    const res = await ctx.app.inject({ url: '/c/spring_sale' })
    assert.match(res.body, /content="spring_sale"/)
    const bad = await ctx.app.inject({ url: '/c/%22%3E%3Cscript%3E' })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'VALIDATION_FAILED')
  })

  test('/admin and its deep links serve the console', async () => {
    for (const url of ['/admin', '/admin/c/x/leads', '/admin/graph']) {
      const res = await ctx.app.inject({ url })
      assert.equal(res.statusCode, 200, url)
      assert.match(res.body, /<title>Ovasabi console<\/title>/)
    }
  })

  test('hashed assets are served with immutable caching; API 404s stay JSON', async () => {
    const file = readdirSync('web/dist/assets').find((f) => f.endsWith('.js'))!
    const res = await ctx.app.inject({ url: `/assets/${file}` })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['cache-control']), /immutable/)
    const missing = await ctx.app.inject({ url: '/api/nothing-here' })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'ROUTE_NOT_FOUND')
    const traversal = await ctx.app.inject({ url: '/assets/..%2f..%2fpackage.json' })
    assert.notEqual(traversal.statusCode, 200)
  })
})

describe('web plugin: the CSP fits how the site is reached', () => {
  test('asks browsers to upgrade requests only when the public URL is HTTPS', async () => {
    // Over plain HTTP the upgrade sends the page's own scripts to HTTPS: a blank page
    // (test/e2e/site.test.ts loads one that way in Chromium).
    const plain = await buildTestApp()
    const tls = await buildTestApp({ env: { PUBLIC_URL: 'https://campaigns.example.org' } })
    try {
      const csp = async (c: TestContext) =>
        String((await c.app.inject({ url: '/health/live' })).headers['content-security-policy'])
      assert.doesNotMatch(await csp(plain), /upgrade-insecure-requests/)
      assert.match(await csp(plain), /script-src 'self'/)
      assert.match(await csp(tls), /upgrade-insecure-requests/)
    } finally {
      await plain.close()
      await tls.close()
    }
  })
})
