import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { DESKTOP, launch, openPage, type Server, startServer } from './e2e/harness.js'
import { buildTestApp, type TestContext } from './helper.js'

/** The connect-src directive of a response's CSP. */
function connectSrc(headers: Record<string, unknown>): string | undefined {
  return String(headers['content-security-policy'])
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('connect-src '))
}

describe('CSP connect-src: the own origin and its WebSocket origin, no other host', () => {
  let plain: TestContext
  let named: TestContext
  before(async () => {
    plain = await buildTestApp()
    named = await buildTestApp({ env: { PUBLIC_URL: 'https://campaigns.example.org/' } })
  })
  after(async () => {
    await plain?.close()
    await named?.close()
  })

  test('without PUBLIC_URL: the host each request named, ws and wss', async () => {
    for (const host of ['campaigns.example.org:8080', '192.168.1.20:8090', 'localhost']) {
      const res = await plain.app.inject({ url: '/health/live', headers: { host } })
      assert.equal(connectSrc(res.headers), `connect-src 'self' ws://${host} wss://${host}`)
    }
    // Behind a proxy TRUST_PROXY trusts (every peer, in tests): the host the browser asked for.
    const proxied = await plain.app.inject({
      url: '/',
      headers: { host: '10.0.0.5:8090', 'x-forwarded-host': 'www.example.org' },
    })
    assert.equal(connectSrc(proxied.headers), "connect-src 'self' ws://www.example.org wss://www.example.org")
  })

  test('a Host a CSP source cannot name adds nothing, and never a directive', async () => {
    for (const host of ["evil.example;script-src 'unsafe-inline'", 'a.example ws:', '[::1]:8090']) {
      const res = await plain.app.inject({ url: '/health/live', headers: { host } })
      assert.equal(connectSrc(res.headers), "connect-src 'self'", host)
      const scriptSrc = String(res.headers['content-security-policy'])
        .split(';')
        .filter((d) => d.trim().startsWith('script-src '))
      assert.deepEqual(scriptSrc, ["script-src 'self'"], host)
    }
  })

  test("with PUBLIC_URL: its origin and WebSocket origin, whatever the request's Host", async () => {
    const res = await named.app.inject({ url: '/health/live', headers: { host: 'other.example:9000' } })
    assert.equal(
      connectSrc(res.headers),
      "connect-src 'self' https://campaigns.example.org wss://campaigns.example.org",
    )
  })
})

describe('CSP connect-src in Chromium', () => {
  let server: Server
  let browser: Browser
  let port: string
  before(async () => {
    server = await startServer()
    port = new URL(server.baseUrl).port
    // Two names for this server: the page's host, and another host a script might send data to.
    browser = await launch(['--host-resolver-rules=MAP ovasabi.test 127.0.0.1,MAP other.test 127.0.0.1'])
  })
  after(async () => {
    await browser?.close()
    await server?.close()
  })

  test("the page's live socket connects; a socket to another host is refused by the CSP", async () => {
    const context = await browser.newContext(DESKTOP)
    await context.addInitScript(() => {
      const seen: string[] = []
      ;(globalThis as { __violations?: string[] }).__violations = seen
      document.addEventListener('securitypolicyviolation', (e) =>
        seen.push(`${e.effectiveDirective} ${e.blockedURI}`),
      )
    })
    const { page, problems } = await openPage(context, `http://ovasabi.test:${port}/`)
    // Open, and counting this visitor: the page's own socket (ws://ovasabi.test:…/ws/…) is live.
    await page.locator('.live-pill[data-state="open"]').waitFor({ timeout: 30_000 })
    await page.waitForFunction(
      () => /^\d+$/.test(document.querySelector('[data-testid="active-users"]')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    )
    assert.deepEqual(await page.evaluate(() => (globalThis as { __violations?: string[] }).__violations), [])
    assert.deepEqual(
      problems.filter((p) => /Content Security Policy/.test(p)),
      [],
    )

    // The same server under another name: were it allowed, this socket would open (a token in
    // the URL needs no origin check, and /cable upgrades before it says `unauthorized`).
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => {
            if (e.blockedURI.includes('other.test')) resolve(`refused by ${e.effectiveDirective}`)
          })
          try {
            const ws = new WebSocket(url)
            ws.onopen = () => {
              ws.close()
              resolve('open')
            }
          } catch {
            // Chromium may throw here too; the violation event above still reports it.
          }
        }),
      `ws://other.test:${port}/cable?token=x`,
    )
    assert.equal(outcome, 'refused by connect-src')
    await context.close()
  })
})
