// The campaign page after events were lost (Chromium against the real server): on
// `resync_required` it reads the leaderboard again and marks the gap in its milestone feed, and a
// presence snapshot takes away the cursors of visitors who left while the page heard nothing.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import { adminHeaders, createCampaign, json } from '../helper.js'
import { metric, waitUntil } from '../realtime/client.js'
import { DESKTOP, launch, openPage, type Server, startServer } from './harness.js'

// Each test has its own limit so one hang cannot use up the file's budget (a loaded machine is slow).
const LIMIT = { timeout: 60_000 }
const WAIT = 8_000

const countIs = (page: Page, n: number) =>
  page.waitForFunction(
    (want) => document.querySelector('[data-testid="active-users"]')?.textContent?.trim() === String(want),
    n,
    { timeout: WAIT },
  )

describe('the campaign page after lost events, in Chromium', () => {
  let server: Server
  let browser: Browser
  const contexts: BrowserContext[] = []
  const newContext = async () => {
    const context = await browser.newContext(DESKTOP)
    context.setDefaultTimeout(WAIT)
    contexts.push(context)
    return context
  }

  before(async () => {
    server = await startServer()
    browser = await launch()
  })
  afterEach(async () => {
    const closing = contexts.splice(0).map((c) => c.close().catch(() => {}))
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 5000))])
  })
  after(async () => {
    await browser?.close()
    await server?.close()
  })

  /** A visitor joins over REST (with `code`: referred by its owner); returns their referral code. */
  async function join(slug: string, name: string, code?: string): Promise<string> {
    const session = await server.app.inject({ method: 'POST', url: '/api/session' })
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { authorization: `Bearer ${json(session).token}` },
      payload: {
        campaign: slug,
        name,
        email: `${name.toLowerCase()}.${Date.now()}@example.org`,
        ...(code ? { referral_code: code } : {}),
      },
    })
    assert.equal(res.statusCode, 201, res.body)
    return json(res).user.referral_code
  }

  const setFeatures = async (slug: string, features: string[]) => {
    const res = await server.app.inject({
      method: 'PATCH',
      url: `/api/campaign/${slug}`,
      headers: adminHeaders,
      payload: { metadata: { features } },
    })
    assert.equal(res.statusCode, 200, res.body)
  }

  test(
    'on resync_required the leaderboard is read again over REST and the feed marks the gap',
    LIMIT,
    async () => {
      const slug = await createCampaign(server.app, { metadata: { scheduling: { frequency: 10 } } })
      const context = await newContext()
      // Between the page and the server: the frames a slow link would lose (every figure and
      // campaign event) never reach the page; it hears only what the server then says of them.
      const kept: Array<{ type: string; id?: number; event?: string }> = []
      let lastSeen = 0
      let toPage: WebSocketRoute | undefined
      await context.routeWebSocket(/\/ws\//, (ws) => {
        const upstream = ws.connectToServer()
        toPage = ws
        upstream.onMessage((message) => {
          const frame = JSON.parse(String(message))
          if (frame.type === 'connected') lastSeen = frame.last_event_id ?? 0
          if (frame.type === 'stats_update' || frame.type === 'campaign_event') kept.push(frame)
          else ws.send(message)
        })
      })
      const { page, problems } = await openPage(context, `${server.baseUrl}/c/${slug}`)
      await countIs(page, 1)
      await page.locator('[data-testid="milestone-feed"]').waitFor()

      const code = await join(slug, 'Ada')
      await join(slug, 'Charles', code)
      await waitUntil(
        () => kept.some((f) => f.event === 'referral.milestone'),
        WAIT,
        'the milestone published (and kept from the page)',
      )
      assert.equal(await page.locator('[data-testid="leaderboard"]').count(), 0, 'no figures reached it')

      const lost = Math.max(...kept.map((f) => f.id ?? 0))
      toPage!.send(JSON.stringify({ type: 'resync_required', since: lastSeen, latest_id: lost }))

      await page.waitForFunction(
        () => document.querySelector('[data-testid="leaderboard"] li .board-count')?.textContent === '1',
        undefined,
        { timeout: WAIT },
      )
      const first = page.locator('[data-testid="leaderboard"] li').first()
      assert.match((await first.locator('.board-name').textContent()) ?? '', /Ada/)
      const gap = page.locator('[data-testid="feed-gap"]')
      await gap.waitFor()
      assert.equal(await gap.count(), 1)
      assert.match((await gap.textContent()) ?? '', /some milestones may be missing/)
      assert.deepEqual(problems, [])
    },
  )

  test(
    'a presence snapshot removes the cursor of a visitor who left while no presence frames came',
    LIMIT,
    async () => {
      const slug = await createCampaign(server.app, { metadata: { scheduling: { frequency: 10 } } })
      const a = await newContext()
      const b = await newContext()
      const { page: pa } = await openPage(a, `${server.baseUrl}/c/${slug}`)
      const { page: pb } = await openPage(b, `${server.baseUrl}/c/${slug}`)
      await countIs(pa, 2)
      await countIs(pb, 2)
      for (let i = 0; !(await pb.locator('[data-cursor-id]').count()); i++) {
        assert.ok(i < 100, 'B never saw A’s cursor')
        await pa.mouse.move(200 + (i % 20) * 20, 300 + (i % 7) * 5)
        await pa.waitForTimeout(50)
      }

      // Presence off: no presence frames at all, so B is not told when A leaves. The room has the
      // change once A's cursor frames are refused (counted as invalid input).
      await setFeatures(
        slug,
        FEATURES.filter((f) => f !== 'presence'),
      )
      const invalid = () => metric(server.app, 'ovasabi_ws_frames_dropped_total', 'reason="inbound_invalid"')
      const before = await invalid()
      for (let i = 0; (await invalid()) === before; i++) {
        assert.ok(i < 100, 'A’s cursors were still accepted')
        await pa.mouse.move(300 + (i % 20) * 20, 200 + (i % 7) * 5)
        await pa.waitForTimeout(50)
      }
      const open = () => metric(server.app, 'ovasabi_ws_connections')
      const sockets = await open()
      await a.close()
      await waitUntil(async () => (await open()) === sockets - 1, WAIT, 'A’s socket closed')
      assert.equal(await pb.locator('[data-cursor-id]').count(), 1, 'B still draws A’s cursor')

      // Presence back on: every socket gets a snapshot on the next tick, without A's cursor.
      await setFeatures(slug, [...FEATURES])
      await pb.waitForFunction(() => document.querySelectorAll('[data-cursor-id]').length === 0, undefined, {
        timeout: WAIT,
      })
      await countIs(pb, 1)
    },
  )
})
