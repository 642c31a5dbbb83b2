// The campaign page's live parts when the socket is lost, comes back or never works (Chromium
// against the real server): cursors are only drawn while the socket says where they are, a page
// never draws its own earlier socket's cursor, and the leaderboard is read over REST when no socket
// brings it.
import assert from 'node:assert/strict'
import { connect, createServer, type Server as TcpServer, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { STRINGS } from '../../web/src/site/strings.js'
import { createCampaign } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

const LIMIT = { timeout: 90_000 }
const WAIT = 15_000

/**
 * A TCP relay in front of the server. `cut()` drops every connection through it at both ends (a
 * phone leaving Wi-Fi); `cutPageSide()` drops only the page's end and leaves the server's open and
 * silent (a laptop lid closed: the server learns it only from its heartbeat); while `refusing`, new
 * connections are dropped at once.
 */
async function relay(target: string) {
  const { hostname, port } = new URL(target)
  const pairs = new Set<{ inbound: Socket; outbound: Socket }>()
  const state = { refusing: false }
  const server: TcpServer = createServer((inbound) => {
    inbound.on('error', () => {})
    if (state.refusing) return void inbound.destroy()
    const outbound = connect(Number(port), hostname)
    outbound.on('error', () => {})
    const pair = { inbound, outbound }
    pairs.add(pair)
    inbound.on('close', () => pairs.delete(pair))
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('relay has no port')
  const kept: Socket[] = []
  return {
    url: `http://127.0.0.1:${address.port}`,
    state,
    cut: () => {
      for (const { inbound, outbound } of [...pairs]) {
        inbound.destroy()
        outbound.destroy()
      }
    },
    cutPageSide: () => {
      for (const { inbound, outbound } of [...pairs]) {
        outbound.unpipe(inbound)
        inbound.unpipe(outbound)
        // Whatever the server sends now goes nowhere; it gets no answer and no close.
        outbound.on('data', () => {})
        kept.push(outbound)
        inbound.destroy()
      }
    },
    close: async () => {
      state.refusing = true
      for (const { inbound, outbound } of pairs) {
        inbound.destroy()
        outbound.destroy()
      }
      for (const s of kept) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const pillOpen = (page: Page) => page.locator('.live-pill[data-state="open"]').waitFor({ timeout: WAIT })

/** Moves the mouse over `page` until `seer` draws a cursor for it; returns the cursor's id. */
async function cursorSeen(page: Page, seer: Page, not: string[] = []): Promise<string> {
  const others = (ids: string[]) => ids.filter((id) => !not.includes(id))
  for (let i = 0; i < 200; i++) {
    await page.mouse.move(200 + (i % 20) * 15, 300 + (i % 7) * 10)
    const ids = await seer
      .locator('[data-cursor-id]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.cursorId ?? ''))
    if (others(ids).length > 0) return others(ids)[0]!
    await page.waitForTimeout(100)
  }
  throw new Error('the cursor never showed')
}

/** Moves the mouse over `page` until `seer` draws the cursor `id`. */
async function cursorShown(page: Page, seer: Page, id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await page.mouse.move(220 + (i % 20) * 15, 320 + (i % 7) * 10)
    if ((await seer.locator(`[data-cursor-id="${id}"]`).count()) > 0) return
    await page.waitForTimeout(100)
  }
  throw new Error(`cursor ${id} never showed`)
}

/** The ids of the cursors `page` shows (drawn and visible). */
const visibleCursors = (page: Page) =>
  page.locator('[data-cursor-id]').evaluateAll((els) =>
    els
      .filter((e) => {
        const r = e.getBoundingClientRect()
        const s = getComputedStyle(e)
        return (
          r.width > 0 && s.visibility !== 'hidden' && s.display !== 'none' && e.closest('[hidden]') === null
        )
      })
      .map((e) => (e as HTMLElement).dataset.cursorId ?? ''),
  )

describe('the campaign page’s live parts when the socket is lost or refused (QA 29f)', () => {
  // The server's heartbeat is slow here: a socket whose page went away without a word stays
  // open on the server for the whole test, as it does for a while after a lid is closed.
  const suite = browserSuite({ env: { WS_HEARTBEAT_MS: '120000' } }, WAIT)
  let proxy: Awaited<ReturnType<typeof relay>> | undefined
  before(async () => {
    proxy = await relay(suite.server.baseUrl)
  })
  after(async () => {
    await proxy?.close()
  })

  test('while the socket is down, the cursors it last placed are not left on the page', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence'],
      metadata: { scheduling: { frequency: 10 } },
    })
    proxy!.state.refusing = false
    const a = await openPage(await suite.newContext(), `${proxy!.url}/c/${slug}`)
    const b = await openPage(await suite.newContext(), `${suite.server.baseUrl}/c/${slug}`)
    await pillOpen(a.page)
    await pillOpen(b.page)
    const bCursor = await cursorSeen(b.page, a.page)

    // A's network goes, and stays gone: its socket cannot say where anyone is.
    proxy!.state.refusing = true
    proxy!.cut()
    await a.page.locator('.live-pill:not([data-state="open"])').waitFor()
    await a.page.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLElement>('[data-cursor-id]')].every(
          (e) => e.getBoundingClientRect().width === 0 || e.closest('[hidden]') !== null,
        ),
      undefined,
      { timeout: WAIT },
    )
    assert.deepEqual(await visibleCursors(a.page), [], 'no cursor is drawn while the page is offline')

    // Back: the cursors come back from the new socket.
    proxy!.state.refusing = false
    await pillOpen(a.page)
    await cursorShown(b.page, a.page, bCursor)
    assert.deepEqual(a.problems, [])
    assert.deepEqual(b.problems, [])
  })

  test('after a reconnect the page never draws the cursor of its own earlier socket', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence'],
      metadata: { scheduling: { frequency: 10 } },
    })
    proxy!.state.refusing = false
    const a = await openPage(await suite.newContext(), `${proxy!.url}/c/${slug}`)
    const b = await openPage(await suite.newContext(), `${suite.server.baseUrl}/c/${slug}`)
    await pillOpen(a.page)
    await pillOpen(b.page)
    // Each sees the other: B knows A's cursor (A's first socket), A knows B's.
    const aFirst = await cursorSeen(a.page, b.page)
    const bCursor = await cursorSeen(b.page, a.page)

    // A's link dies without the server hearing of it: its first socket stays on the server, at
    // the position A last sent. A reconnects at once on a new socket.
    proxy!.cutPageSide()
    await a.page.locator('.live-pill:not([data-state="open"])').waitFor()
    await pillOpen(a.page)
    // A's new socket has heard of B since the reconnect: its snapshot (and B's moves) came.
    const aSecond = await cursorSeen(a.page, b.page, [aFirst])
    assert.notEqual(aSecond, aFirst)
    await cursorShown(b.page, a.page, bCursor)
    const seen = await visibleCursors(a.page)
    assert.deepEqual(seen, [bCursor], `A draws only B’s cursor, not its own earlier one (${aFirst})`)
    assert.deepEqual(a.problems, [])
  })

  test('with the socket refused, the leaderboard is read over REST', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app, {
      features: ['presence', 'referral', 'registration'],
    })
    const context = await suite.newContext()
    // A proxy that takes no WebSocket: every socket the page opens is closed at once.
    await context.routeWebSocket(/\/ws\//, (ws) => ws.close())
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await page.locator('.brand', { hasText: `Test ${slug}` }).waitFor()
    await page.locator('.live-pill:not([data-state="open"])').waitFor()
    const board = page.locator('#board-title').locator('..')
    await board.getByText(STRINGS['board.empty']).waitFor()
    assert.equal(await board.getByText(STRINGS['board.waiting']).count(), 0)
    assert.deepEqual(problems, [])
  })
})
