// The campaign page's language suites share this set-up: the real server translating through the
// LibreTranslate-compatible test upstream ("[es] UPPER CASE"), Chromium, desktop contexts each of
// its own client address, and the language switch.
import { after, afterEach, before } from 'node:test'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { type FakeLibreTranslate, startFakeLibreTranslate } from '../fixtures/libretranslate.js'
import { DESKTOP, launch, type Server, startServer } from './harness.js'

/** The page switched to `lang`, once its heading shows translated and no string is still on its way. */
export async function switchTo(p: Page, lang: string) {
  await p.locator('h1').waitFor()
  await p.locator('[data-testid="language-switcher"]').selectOption(lang)
  await p.waitForFunction((l) => document.querySelector('h1')?.textContent?.startsWith(`[${l}] `), lang)
  await p.waitForFunction(() => document.getElementById('lang-status')?.textContent === '')
}

/**
 * For a `describe` block: the test upstream, the server translating through it (`perMinute`
 * requests a minute per client address: room for the page and its translation, one request per
 * string) and Chromium start before its tests; the contexts `newContext()` opened are closed after
 * each test. Each context has an address of its own under `ipPrefix` (`203.0.113.`), since the rate
 * limit counts per address.
 */
export function i18nSuite(opts: { perMinute: number; ipPrefix: string }) {
  let server: Server | undefined
  let browser: Browser | undefined
  let translator: FakeLibreTranslate | undefined
  const contexts: BrowserContext[] = []
  before(async () => {
    translator = await startFakeLibreTranslate()
    server = await startServer({
      env: { LIBRETRANSLATE_URL: translator.url, RATE_LIMIT_PER_MINUTE: String(opts.perMinute) },
    })
    browser = await launch()
  })
  afterEach(async () => {
    const closing = contexts.splice(0).map((c) => c.close().catch(() => {}))
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 5000))])
  })
  after(async () => {
    await browser?.close()
    await server?.close()
    await translator?.close()
  })
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the suite has not started')
    return v
  }
  return {
    get server(): Server {
      return started(server)
    },
    get translator(): FakeLibreTranslate {
      return started(translator)
    },
    /** A desktop context (browser locale en-US unless `options` say otherwise) and its address. */
    async newContext(options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; ip: string }> {
      const ip = `${opts.ipPrefix}${Math.floor(Math.random() * 200) + 20}`
      const context = await started(browser).newContext({
        ...DESKTOP,
        locale: 'en-US',
        ...options,
        extraHTTPHeaders: { 'x-forwarded-for': ip },
      })
      context.setDefaultTimeout(20_000)
      contexts.push(context)
      return { context, ip }
    },
  }
}
