import { spawnSync } from 'node:child_process'
import { type AddressInfo, createServer } from 'node:net'
import { after, afterEach, before } from 'node:test'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core'
import { startSmtpReceiver } from '../fixtures/smtp-receiver.js'
import { buildTestApp, createCampaign, type TestAppOptions, type TestContext } from '../helper.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ARTIFACTS = join(process.cwd(), 'test-artifacts')

/** Build web/dist when it is missing or stale (the same script `npm start` runs). */
export function ensureSiteBuilt(): void {
  const r = spawnSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('building the web site failed')
  if (!existsSync('web/dist/index.html')) throw new Error('web/dist/index.html missing after build')
}

export interface Server extends TestContext {
  baseUrl: string
}

/**
 * `PUBLIC_URL` as this value in a suite's `env`: the server's own origin, on a port picked before
 * its config is read, so the links it mails (password reset, address confirmation) are opened as
 * sent.
 */
export const OWN_ORIGIN = 'own-origin'

/** A port free now on 127.0.0.1 (the OS's pick; nothing else on the machine asks for it at once). */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

/** The real app on a real port. */
export async function startServer(options: TestAppOptions = {}): Promise<Server> {
  ensureSiteBuilt()
  if (options.env?.PUBLIC_URL !== OWN_ORIGIN) {
    const ctx = await buildTestApp(options)
    const baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    return { ...ctx, baseUrl }
  }
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  // The same object: a suite filling `env` in a `before` reads back what the server was given.
  options.env.PUBLIC_URL = origin
  const ctx = await buildTestApp(options)
  await ctx.app.listen({ port, host: '127.0.0.1' })
  return { ...ctx, baseUrl: origin }
}

/** Chromium; `args` adds switches (e.g. `--host-resolver-rules` to reach the server by a name). */
export async function launch(args: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`)
  const start = () =>
    chromium.launch({
      executablePath: CHROMIUM,
      timeout: 60_000,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        ...args,
      ],
    })
  // The first start after Chromium was installed builds its caches and has timed out once on a
  // busy machine; a second start finds them built.
  return start().catch(start)
}

/** A page that records console errors and CSP violations, so tests can assert there were none. */
export async function openPage(
  context: BrowserContext,
  url: string,
): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    const text = m.text()
    // Failed responses are handled by the page (a refused key, a feature this server lacks) and
    // the socket retries while no gateway answers: neither is a page defect. CSP refusals and
    // script errors are.
    if (m.type() === 'error' && !/WebSocket|\/ws\/|Failed to load resource/.test(text)) problems.push(text)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(url, { waitUntil: 'domcontentloaded' })
  return { page, problems }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
}
export const DESKTOP = { viewport: { width: 1280, height: 900 } }

/**
 * For a `describe` block: one real server (`options`) and Chromium start before its tests and
 * stop after them; the tests open their own contexts.
 */
export function serverAndBrowser(options: TestAppOptions = {}) {
  let server: Server | undefined
  let browser: Browser | undefined
  before(async () => {
    server = await startServer(options)
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
    await server?.close()
  })
  return {
    get server(): Server {
      if (!server) throw new Error('the suite has not started')
      return server
    },
    get browser(): Browser {
      if (!browser) throw new Error('the suite has not started')
      return browser
    },
  }
}

/**
 * A campaign with `features` on `server`, its page open in a new desktop context of `browser`
 * once it shows the campaign's title.
 */
export async function openCampaignPage(server: Server, browser: Browser, features: string[]) {
  const slug = await createCampaign(server.app, { features })
  const context = await browser.newContext(DESKTOP)
  const { page, problems } = await openPage(context, `${server.baseUrl}/c/${slug}`)
  await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
  return { slug, context, page, problems }
}

/**
 * A Chromium suite against one real server, for a `describe` block: `server` and a browser start
 * before its tests, and the contexts `newContext()` opened (desktop size, `waitMs` per action)
 * are closed after each test, so a failed one cannot leave pages running into the next.
 */
export function browserSuite(options: TestAppOptions = {}, waitMs = 15_000) {
  const started = serverAndBrowser(options)
  const contexts: BrowserContext[] = []
  afterEach(async () => {
    const closing = contexts.splice(0).map((c) => c.close().catch(() => {}))
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 5000))])
  })
  return {
    get server(): Server {
      return started.server
    },
    /** `options` adds to the desktop size (e.g. `timezoneId`, `locale`). */
    async newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
      const context = await started.browser.newContext({ ...DESKTOP, ...options })
      context.setDefaultTimeout(waitMs)
      contexts.push(context)
      return context
    },
  }
}

/**
 * A `browserSuite` whose server mails to a local SMTP receiver (`smtp`) and has its own origin as
 * `PUBLIC_URL`, so a mailed link (password reset, address confirmation) is opened as sent.
 */
export function mailingBrowserSuite() {
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>> | undefined
  const env: Record<string, string> = { PUBLIC_URL: OWN_ORIGIN }
  // Registered first, so it runs before the server starts and reads `env`.
  before(async () => {
    smtp = await startSmtpReceiver()
    env.SMTP_URL = smtp.url
  })
  const suite = browserSuite({ env })
  after(() => smtp?.close())
  return {
    get server(): Server {
      return suite.server
    },
    newContext: suite.newContext,
    get smtp() {
      if (!smtp) throw new Error('the suite has not started')
      return smtp
    },
  }
}
