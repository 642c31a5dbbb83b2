// The campaign page's stream panel in Chromium against the real server: a joined visitor goes
// live (starting → live), pauses, resumes and ends their stream; a reload shows the same stream
// with its controls (not a new one); another visitor sees its status but no owner controls.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createCampaign, json } from '../helper.js'
import { browserSuite, openPage } from './harness.js'

// Per-test limits so one hang cannot use up the file's budget (no assertion on time).
const LIMIT = { timeout: 60_000 }
const WAIT = 15_000

describe('the stream panel in Chromium', () => {
  const suite = browserSuite({}, WAIT)
  const { newContext } = suite

  /** The campaign's streams that have not ended, as any session reads them. */
  async function liveStreams(slug: string): Promise<Array<{ stream_id: number; status: string }>> {
    const session = await suite.server.app.inject({ method: 'POST', url: '/api/session' })
    const res = await suite.server.app.inject({
      method: 'GET',
      url: `/api/campaign/${slug}/streams/live`,
      headers: { authorization: `Bearer ${json(session).token}` },
    })
    assert.equal(res.statusCode, 200, res.body)
    return json(res).streams
  }

  const panel = (page: Page) => page.locator('[data-testid="stream-panel"]')
  const button = (page: Page, name: string) => panel(page).getByRole('button', { name, exact: true })
  const statusIs = (page: Page, status: string) =>
    page.waitForFunction(
      (want) => document.querySelector('[data-testid="stream-status"]')?.textContent === want,
      status,
      { timeout: WAIT },
    )
  const buttons = async (page: Page) =>
    (await panel(page).locator('button').allTextContents()).map((s) => s.trim())

  async function joinOnPage(page: Page, name: string) {
    await page.locator('#join-name').fill(name)
    await page.locator('#join-email').fill(`${name.toLowerCase()}.${Date.now()}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await button(page, 'Go live').waitFor()
  }

  /** Opens the page as a new visitor, joins, and clicks Go live: the stream is starting, theirs. */
  async function goLive(slug: string) {
    const context = await newContext()
    const { page, problems } = await openPage(context, `${suite.server.baseUrl}/c/${slug}`)
    await joinOnPage(page, 'Ada')
    await button(page, 'Go live').click()
    await statusIs(page, 'starting')
    await panel(page).locator('[data-testid="stream-controls"]').waitFor()
    const id = await panel(page).getAttribute('data-stream-id')
    assert.ok(id, 'the panel names the stream it shows')
    return { context, page, problems, id }
  }

  test('the owner takes their stream live, pauses, resumes and ends it', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const { page, problems, id } = await goLive(slug)
    assert.equal(await panel(page).getAttribute('data-owner'), 'true')
    assert.deepEqual(await buttons(page), ['Go live now', 'End stream'], 'starting: owner steps only')
    const read = await liveStreams(slug)
    const playback = (read[0] as { playback_url?: string } | undefined)?.playback_url
    assert.match(String(playback), new RegExp(`/live/${id}/index\\.m3u8$`), 'where viewers watch it')
    assert.deepEqual(read, [
      // Read as another (guest) session: not its stream.
      {
        stream_id: Number(id),
        status: 'starting',
        title: `${await page.title()} live`,
        started_at: null,
        playback_url: playback,
        mine: false,
      },
    ])

    await button(page, 'Go live now').click()
    await statusIs(page, 'live')
    assert.deepEqual(await buttons(page), ['Pause', 'End stream'])
    assert.equal((await liveStreams(slug))[0]?.status, 'live', 'the server has it live')

    await button(page, 'Pause').click()
    await statusIs(page, 'paused')
    assert.deepEqual(await buttons(page), ['Resume', 'End stream'])
    await button(page, 'Resume').click()
    await statusIs(page, 'live')

    await button(page, 'End stream').click()
    await statusIs(page, 'ended')
    await panel(page).getByText('Nobody is live right now.').waitFor()
    assert.deepEqual(await buttons(page), ['Go live'], 'no owner controls on an ended stream')
    assert.equal(await panel(page).getAttribute('data-owner'), null)
    assert.deepEqual(await liveStreams(slug), [], 'nothing left running')
    assert.deepEqual(problems, [])
  })

  test('a reload shows the owner’s starting stream with its controls, not a new one', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const { page, problems, id } = await goLive(slug)
    await page.reload({ waitUntil: 'domcontentloaded' })
    await statusIs(page, 'starting')
    await panel(page).locator('[data-testid="stream-controls"]').waitFor()
    assert.equal(await panel(page).getAttribute('data-stream-id'), id, 'the same stream')
    assert.deepEqual(await buttons(page), ['Go live now', 'End stream'], 'no offer of another stream')

    // Taken live after the reload (no status frame has named the owner to this page since).
    await button(page, 'Go live now').click()
    await statusIs(page, 'live')
    await page.reload({ waitUntil: 'domcontentloaded' })
    await statusIs(page, 'live')
    assert.equal(await panel(page).getAttribute('data-stream-id'), id)
    assert.deepEqual(await buttons(page), ['Pause', 'End stream'])
    const listed = await liveStreams(slug)
    assert.deepEqual(
      listed.map((s) => [s.stream_id, s.status]),
      [[Number(id), 'live']],
      'one stream, the first: none abandoned',
    )

    await button(page, 'End stream').click()
    await statusIs(page, 'ended')
    assert.deepEqual(await liveStreams(slug), [])
    assert.deepEqual(problems, [])
  })

  test('another visitor sees the stream and its status but no owner controls', LIMIT, async () => {
    const slug = await createCampaign(suite.server.app)
    const owner = await goLive(slug)
    await button(owner.page, 'Go live now').click()
    await statusIs(owner.page, 'live')

    // A visitor who came later (the frames that named the owner are gone): the read shows it.
    const other = await newContext()
    const { page, problems } = await openPage(other, `${suite.server.baseUrl}/c/${slug}`)
    await statusIs(page, 'live')
    assert.equal(await panel(page).getAttribute('data-stream-id'), owner.id)
    assert.deepEqual(await buttons(page), [], 'a guest: no controls and no Go live')

    // Joined, they could start a stream of their own, but not control this one.
    await page.locator('#join-name').fill('Bob')
    await page.locator('#join-email').fill(`bob.${Date.now()}@example.org`)
    await page.locator('form[data-testid="join-form"] button[type="submit"]').click()
    await page.locator('[data-testid="user-name"]').waitFor()
    assert.deepEqual(await buttons(page), [], 'a joined non-owner: still no controls')
    assert.equal(await panel(page).getAttribute('data-owner'), null)

    // The owner pauses: the status frame names the owner; the other page follows, still without controls.
    await button(owner.page, 'Pause').click()
    await statusIs(page, 'paused')
    assert.deepEqual(await buttons(page), [])

    await button(owner.page, 'End stream').click()
    await statusIs(page, 'ended')
    await button(page, 'Go live').waitFor()
    assert.deepEqual(problems, [])
    assert.deepEqual(owner.problems, [])
  })
})
