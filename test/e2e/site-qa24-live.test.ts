import assert from 'node:assert/strict'
import { connect, createServer, type Server as TcpServer, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { STRINGS } from '../../web/src/site/strings.js'
import { createCampaign } from '../helper.js'
import { openPage, PHONE, serverAndBrowser } from './harness.js'

/**
 * A TCP relay in front of the server: `cut()` drops every connection through it at once (the
 * page's socket among them), as a phone leaving Wi-Fi does; new connections go through again.
 */
async function relay(target: string): Promise<{ url: string; cut: () => void; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target)
  const open = new Set<Socket>()
  const server: TcpServer = createServer((inbound) => {
    const outbound = connect(Number(port), hostname)
    for (const s of [inbound, outbound]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {})
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('relay has no port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => {
      for (const s of open) s.destroy()
    },
    close: async () => {
      for (const s of open) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The live pill as a visitor on a phone meets it when the connection drops and comes back. */
describe('campaign site live pill on a phone when the socket drops (QA 24)', () => {
  const suite = serverAndBrowser()
  let proxy: Awaited<ReturnType<typeof relay>> | undefined
  before(async () => {
    proxy = await relay(suite.server.baseUrl)
  })
  after(async () => {
    await proxy?.close()
  })

  test('a dropped socket is said in words on a narrow screen and announced; the count comes back', async () => {
    const slug = await createCampaign(suite.server.app, { features: ['presence', 'quote'] })
    const context = await suite.browser.newContext(PHONE)
    context.setDefaultTimeout(20_000)
    const { page, problems } = await openPage(context, `${proxy!.url}/c/${slug}`)
    const pill = page.locator('.live-pill')
    await page.locator('.live-pill[data-state="open"]').waitFor()
    await page.locator('[data-testid="active-users"]', { hasText: /^\d+$/ }).waitFor()
    // One live region reads the count with what it counts ("1 here now"), not a bare number.
    assert.equal(await pill.getAttribute('aria-live'), 'polite')
    assert.equal(await page.locator('[data-testid="active-users"]').getAttribute('aria-live'), null)

    proxy!.cut()
    await page.locator('.live-pill:not([data-state="open"])').waitFor()
    const label = page.locator('.live-pill .live-label')
    // On a phone the word is shown, not only a dot that changes colour.
    assert.equal(await label.isVisible(), true)
    const said = (await label.textContent()) ?? ''
    assert.ok([STRINGS['live.connecting'], STRINGS['live.offline']].includes(said as never), said)
    assert.equal(await page.locator('[data-testid="active-users"]').textContent(), '–')
    // The word fits the phone's top bar: nothing scrolls sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`)

    // Back: the count is read again from the new socket's `connected`.
    await page.locator('.live-pill[data-state="open"]').waitFor()
    await page.locator('[data-testid="active-users"]', { hasText: /^\d+$/ }).waitFor()
    assert.deepEqual(problems, [])
    await context.close()
  })
})
