// The campaign page after events were lost (Chromium against the real server): on
// `resync_required` it reads the leaderboard again and marks the gap in its milestone feed, the
// quote form reads its lead's status and the upload panel its upload's, and a presence snapshot
// takes away the cursors of visitors who left while the page heard nothing.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page, WebSocketRoute } from 'playwright-core'
import sharp from 'sharp'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import { STRINGS } from '../../web/src/site/strings.js'
import { adminHeaders, createCampaign, json } from '../helper.js'
import { metric, waitUntil } from '../realtime/client.js'
import { browserSuite, openPage } from './harness.js'

// Each test has its own limit so one hang cannot use up the file's budget (a loaded machine is slow).
const LIMIT = { timeout: 60_000 }
// A deadline for frames and page updates, generous for a loaded host (ci32b missed one at 8 s).
const WAIT = 20_000

const countIs = (page: Page, n: number) =>
  page.waitForFunction(
    (want) => document.querySelector('[data-testid="active-users"]')?.textContent?.trim() === String(want),
    n,
    { timeout: WAIT },
  )

describe('the campaign page after lost events, in Chromium', () => {
  const suite = browserSuite({}, WAIT)
  const { newContext } = suite

  /** A visitor joins over REST (with `code`: referred by its owner); returns their referral code. */
  async function join(slug: string, name: string, code?: string): Promise<string> {
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const res = await suite.server.app.inject({
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
    const res = await suite.server.app.inject({
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
      const slug = await createCampaign(suite.server.app, { metadata: { scheduling: { frequency: 10 } } })
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
      const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
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

  /**
   * Opens the campaign page with the frames of `lost` types kept from it (what a slow link loses);
   * `resync()` then says so, as the server would.
   */
  async function withLostFrames(slug: string, lost: string[]) {
    const context = await newContext()
    const kept: Array<Record<string, any>> = []
    let lastSeen = 0
    let toPage: WebSocketRoute | undefined
    await context.routeWebSocket(/\/ws\//, (ws) => {
      const upstream = ws.connectToServer()
      toPage = ws
      upstream.onMessage((message) => {
        const frame = JSON.parse(String(message))
        if (frame.type === 'connected') lastSeen = frame.last_event_id ?? 0
        if (lost.includes(frame.type)) kept.push(frame)
        else ws.send(message)
      })
    })
    const opened = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await countIs(opened.page, 1)
    const resync = () =>
      toPage!.send(JSON.stringify({ type: 'resync_required', since: lastSeen, latest_id: lastSeen }))
    return { context, ...opened, kept, resync }
  }

  test(
    'on resync_required the quote form reads its lead’s status, lost with its notification',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      const { page, problems, kept, resync } = await withLostFrames(slug, ['notification'])
      const reads: string[] = []
      page.on('request', (r) => {
        if (r.method() === 'GET' && /\/api\/quote\//.test(r.url())) reads.push(r.url())
      })
      await page.locator('#quote-name').fill('Ada Lovelace')
      await page.locator('#quote-email').fill(`ada.${Date.now()}@example.org`)
      const submitted = page.waitForResponse(
        (r) => r.url().endsWith('/api/quote') && r.request().method() === 'POST',
      )
      await page.locator('form[data-testid="quote-form"] button[type="submit"]').click()
      const leadId: string = (await (await submitted).json()).result.lead_id
      const badge = page.locator('[data-testid="quote-status"] .badge')
      await badge.waitFor()
      assert.equal(await badge.getAttribute('data-status'), 'new')

      const moved = await suite.server.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/${leadId}`,
        headers: adminHeaders,
        payload: { status: 'contacted' },
      })
      assert.equal(moved.statusCode, 200, moved.body)
      await waitUntil(
        () => kept.some((f) => f.lead_id === leadId && f.status === 'contacted'),
        WAIT,
        'the status notification sent (and kept from the page)',
      )
      await page.waitForTimeout(300)
      assert.equal(await badge.getAttribute('data-status'), 'new', 'the page never heard of the change')
      assert.deepEqual(reads, [], 'no read before a resync: the page does not poll')

      resync()
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="quote-status"] .badge')?.getAttribute('data-status') ===
          'contacted',
        undefined,
        { timeout: WAIT },
      )
      assert.deepEqual(reads, [`${suite.server.baseUrl}/api/quote/${leadId}`])
      assert.deepEqual(problems, [])
    },
  )

  /**
   * Uploads `file` from the page with its `media_event`s and its answer lost (the server takes the
   * upload and answers `expected`, the page hears a reset connection), then says events were lost.
   * Returns the page and the media reads it made meanwhile.
   */
  async function uploadUnheard(file: { name: string; mimeType: string; buffer: Buffer }, expected: number) {
    const slug = await createCampaign(suite.server.app)
    const { page, context, kept, resync } = await withLostFrames(slug, ['media_event'])
    const reads: string[] = []
    page.on('request', (r) => {
      if (/\/api\/media\/|\/media\/[^/]+$/.test(new URL(r.url()).pathname) && r.method() !== 'PUT')
        reads.push(`${r.method()} ${r.url()}`)
    })
    let uploaded = 0
    await context.route(/\/media\/upload\//, async (route) => {
      const res = await route.fetch()
      uploaded = res.status()
      await route.abort('connectionreset')
    })
    await page.locator('#media-file').setInputFiles(file)
    await page.locator('form[data-testid="media-form"] button[type="submit"]').click()
    await waitUntil(() => uploaded === expected, WAIT, `the server answered the upload ${expected}`)
    const settled = expected === 200 ? 'ready' : 'failed'
    await waitUntil(
      () => kept.some((f) => f.status === settled),
      WAIT,
      `the ${settled} media_event sent (and kept from the page)`,
    )
    const mediaId: string = kept.find((f) => f.status === settled)!.media_id
    const status = page.locator('[data-testid="upload-status"]')
    await page.locator('form[data-testid="media-form"] [role="alert"]').waitFor()
    assert.equal(
      await status.getAttribute('data-status'),
      'uploading',
      `the page never heard it was ${settled}`,
    )
    assert.deepEqual(reads, [], 'no read before a resync: the page does not poll')
    resync()
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid="upload-status"]')?.getAttribute('data-status') === want,
      settled,
      { timeout: WAIT },
    )
    return { page, reads, mediaId }
  }

  test(
    'on resync_required an upload whose events and answer were lost is read again and shows ready',
    LIMIT,
    async () => {
      const png = await sharp({
        create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 40, b: 40 } },
      })
        .png()
        .toBuffer()
      const { page, reads, mediaId } = await uploadUnheard(
        { name: 'dot.png', mimeType: 'image/png', buffer: png },
        200,
      )
      // Its uploader's own read (GET /api/media/{id}), which hands it the URLs too.
      assert.deepEqual(reads, [`GET ${suite.server.baseUrl}/api/media/${mediaId}`])
      const thumb = page.locator('form[data-testid="media-form"] img.thumb')
      await thumb.waitFor()
      assert.equal(await thumb.getAttribute('src'), `/media/${mediaId}/thumbnail`)
    },
  )

  test(
    'on resync_required an upload that failed unheard is read again and shows why it failed',
    LIMIT,
    async () => {
      const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#36c' } })
        .png()
        .toBuffer()
      // A PNG sent as a JPEG: the server refuses it (415) and fails the upload `type_mismatch`.
      const { page, reads, mediaId } = await uploadUnheard(
        { name: 'dot.jpg', mimeType: 'image/jpeg', buffer: png },
        415,
      )
      assert.deepEqual(reads, [`GET ${suite.server.baseUrl}/api/media/${mediaId}`])
      const notice = page.locator('form[data-testid="media-form"] p.notice[data-tone="danger"]:not([role])')
      await notice.waitFor()
      // The reason read over REST, told as a sentence (never the bare code).
      assert.equal((await notice.textContent())?.trim(), STRINGS['media.reason.type_mismatch'])
    },
  )

  test('an upload whose events were all lost shows what its own answer says: ready', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const { page, kept } = await withLostFrames(slug, ['media_event'])
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#2a6' } })
      .png()
      .toBuffer()
    await page.locator('#media-file').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png })
    await page.locator('form[data-testid="media-form"] button[type="submit"]').click()
    await page.waitForFunction(
      () => document.querySelector('[data-testid="upload-status"]')?.getAttribute('data-status') === 'ready',
      undefined,
      { timeout: WAIT },
    )
    // The page reads `ready` from its own upload's answer; the event is published after that
    // commit and may reach the socket a moment later.
    await waitUntil(
      () => kept.some((f) => f.status === 'ready'),
      WAIT,
      'the ready media_event was sent, and kept from the page',
    )
    await page.locator('form[data-testid="media-form"] img.thumb').waitFor()
  })

  test(
    'on resync_required the stream panel reads its campaign’s streams and shows it ended',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app)
      // Error frames are lost too: the refusal of a `stream_join` cannot be what tells the page.
      const { page, problems, kept, resync } = await withLostFrames(slug, ['stream_event', 'error'])
      const reads: number[] = []
      page.on('response', (r) => {
        if (
          r.request().method() === 'GET' &&
          r.url() === `${suite.server.baseUrl}/api/campaign/${slug}/streams/live`
        )
          reads.push(r.status())
      })
      await page.locator('#join-name').fill('Ada')
      await page.locator('#join-email').fill(`ada.${Date.now()}@example.org`)
      await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
      const panel = page.locator('[data-testid="stream-panel"]')
      await panel.locator('button', { hasText: 'Go live' }).click()
      const badge = page.locator('[data-testid="stream-status"]')
      await page.waitForFunction(
        () => document.querySelector('[data-testid="stream-status"]')?.textContent === 'starting',
        undefined,
        { timeout: WAIT },
      )
      await waitUntil(() => kept.some((f) => f.status === 'starting'), WAIT, 'the starting stream_event')
      const started = kept.find((f) => f.status === 'starting')!
      const stopped = await suite.server.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: adminHeaders,
        payload: { action: 'stream.stop', data: { stream_id: started.stream_id } },
      })
      assert.equal(stopped.statusCode, 200, stopped.body)
      await waitUntil(() => kept.some((f) => f.status === 'ended'), WAIT, 'the ended stream_event')
      assert.equal(await badge.textContent(), 'starting', 'the page never heard it ended')
      // The panel reads the streams once as its socket first opens (maybe before `reads` listened;
      // long before the join, go-live and stop above), then never until a resync: it does not poll.
      const opening = reads.length
      assert.ok(opening <= 1, `no read but the opening one before a resync: ${JSON.stringify(reads)}`)

      resync()
      await page.waitForFunction(
        () => document.querySelector('[data-testid="stream-status"]')?.textContent === 'ended',
        undefined,
        { timeout: WAIT },
      )
      assert.deepEqual(reads.slice(opening), [200], 'one read of the campaign’s streams told it')
      assert.equal(await badge.getAttribute('data-stale'), null)
      assert.deepEqual(problems, [])
    },
  )

  test(
    'a presence snapshot removes the cursor of a visitor who left while no presence frames came',
    LIMIT,
    async () => {
      const slug = await createCampaign(suite.server.app, { metadata: { scheduling: { frequency: 10 } } })
      const a = await newContext()
      const b = await newContext()
      const { page: pa } = await openPage(a, `${suite.server.baseUrl}/c/${slug}`)
      const { page: pb } = await openPage(b, `${suite.server.baseUrl}/c/${slug}`)
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
      const invalid = () =>
        metric(suite.server.app, 'ovasabi_ws_frames_dropped_total', 'reason="inbound_invalid"')
      const before = await invalid()
      for (let i = 0; (await invalid()) === before; i++) {
        assert.ok(i < 100, 'A’s cursors were still accepted')
        await pa.mouse.move(300 + (i % 20) * 20, 200 + (i % 7) * 5)
        await pa.waitForTimeout(50)
      }
      const open = () => metric(suite.server.app, 'ovasabi_ws_connections')
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
