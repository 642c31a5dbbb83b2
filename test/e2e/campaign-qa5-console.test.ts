// The admin console on campaigns stored before today's checks: a legacy `start`/`end` without a
// time or an offset is shown as the instant the server reads it as, in the campaign's zone, and a
// save of the unchanged form stores that same instant (it emptied the field and removed it); a
// stored time with seconds is kept as stored; `metadata` that is not an object is named.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sql } from 'kysely'
import { adminHeaders, guestToken, insertLegacyCampaign, json, uniqueSlug } from '../helper.js'
import { openLegacySettings, openSettings as openConsoleSettings } from './console-fixtures.js'
import { browserSuite, screenshot } from './harness.js'

describe('admin console on legacy schedules (fifth QA pass)', () => {
  const suite = browserSuite()

  const openSettings = (slug: string) => openConsoleSettings(suite, slug)
  const read = async (slug: string) =>
    json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )
  /** The schedule as visitors read it: the instants the server reads `start` and `end` as. */
  const visitorsSchedule = async (slug: string) => {
    const { token } = await guestToken(suite.server.app)
    const res = await suite.server.app.inject({
      method: 'GET',
      url: `/api/campaign/${slug}`,
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(res.statusCode, 200, res.body)
    return json(res).metadata.scheduling as { start?: string; end?: string }
  }
  const save = async (page: import('playwright-core').Page) => {
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), 'ok', (await message.textContent()) ?? '')
  }

  test('shows a legacy date in the campaign’s zone, and an unchanged save keeps its instant', async () => {
    const slug = await insertLegacyCampaign(suite.server.app, 'Winter launch', {
      frequency: 2,
      timezone: 'Europe/Paris',
      start: '2026-12-05',
      end: '2027-01-10T18:30',
    })
    const served = await visitorsSchedule(slug)
    assert.equal(served.start, '2026-12-04T23:00:00.000Z')
    assert.equal(served.end, '2027-01-10T17:30:00.000Z')

    const { page, problems } = await openSettings(slug)
    assert.equal(await page.locator('#ed-start').inputValue(), '2026-12-05T00:00')
    assert.equal(await page.locator('#ed-end').inputValue(), '2027-01-10T18:30')
    assert.match(
      (await page.locator('[data-testid="schedule-start-note"]').textContent()) ?? '',
      /Stored as "2026-12-05", a date without a time: starts 2026-12-05 \(00:00, Europe\/Paris\)/,
    )
    assert.match(
      (await page.locator('[data-testid="schedule-end-note"]').textContent()) ?? '',
      /a time without an offset: ends 2027-01-10 \(18:30, Europe\/Paris\)/,
    )
    assert.equal(await page.locator('#ed-start-error').textContent(), '')
    // Named to fix, but the campaign is open: the notice must not say it is held closed.
    const notice = page.locator('[data-testid="campaign-problems"]')
    await notice.waitFor()
    assert.doesNotMatch((await notice.textContent()) ?? '', /held closed/)
    await screenshot(page, 'campaign-qa5-legacy-date')

    await save(page)
    await notice.waitFor({ state: 'detached' })
    const after = await read(slug)
    assert.equal(after.problems, undefined)
    assert.equal(after.metadata.scheduling.timezone, 'Europe/Paris')
    // The same instants visitors were served: nothing moved, nothing was removed.
    assert.equal(Date.parse(after.metadata.scheduling.start), Date.parse(served.start!))
    assert.equal(Date.parse(after.metadata.scheduling.end), Date.parse(served.end!))
    assert.deepEqual(await visitorsSchedule(slug), { ...served, frequency: 2, timezone: 'Europe/Paris' })
    assert.deepEqual(problems, [])
  })

  test('keeps a stored time with seconds as stored when the form is saved unchanged', async () => {
    const { slug, page, problems } = await openLegacySettings(suite, 'Seconds', {
      frequency: 1,
      timezone: 'Europe/Paris',
      start: '2026-12-05T09:00:30+01:00',
    })
    assert.equal(await page.locator('#ed-start').inputValue(), '2026-12-05T09:00')
    assert.equal(await page.locator('[data-testid="schedule-start-note"]').count(), 0)
    await page.locator('#ed-title').fill('Seconds, renamed')
    await save(page)
    const after = await read(slug)
    assert.equal(after.title, 'Seconds, renamed')
    assert.equal(after.metadata.scheduling.start, '2026-12-05T09:00:30+01:00')

    // 02:30 on the night Berlin falls back, the second time (CET): the input shows 02:30, which
    // read again would be the first (CEST), an hour earlier.
    const repeated = await insertLegacyCampaign(suite.server.app, 'Fall back', {
      frequency: 1,
      timezone: 'Europe/Berlin',
      start: '2026-10-25T01:30:00Z',
    })
    const other = await openSettings(repeated)
    assert.equal(await other.page.locator('#ed-start').inputValue(), '2026-10-25T02:30')
    await save(other.page)
    assert.equal((await read(repeated)).metadata.scheduling.start, '2026-10-25T01:30:00Z')

    // Moved in the form: the new wall-clock time is read in the campaign's zone.
    await page.locator('#ed-start').fill('2026-12-05T10:15')
    await save(page)
    assert.equal((await read(slug)).metadata.scheduling.start, '2026-12-05T09:15:00.000Z')
    assert.deepEqual(problems, [])
  })

  test('opens a campaign whose stored tags and features are not lists, and a save repairs them', async () => {
    const slug = uniqueSlug('rawlists')
    await suite.server.app.platform.database.db
      .insertInto('service_campaign_main')
      .values({
        slug,
        title: 'Old lists',
        description: '',
        draft: false,
        created_by: 'legacy',
        metadata: JSON.stringify({ features: { presence: true }, tags: 'spring' }),
        updated_at: new Date(),
      })
      .execute()
    const { page, problems } = await openSettings(slug)
    const notice = page.locator('[data-testid="campaign-problems"]')
    await notice.waitFor()
    assert.equal(await notice.locator('li').count(), 2)
    // As visitors read them: the one tag kept, no feature on.
    assert.equal(await page.locator('#ed-tags').inputValue(), 'spring')
    assert.equal(await page.locator('[data-feature]:checked').count(), 0)
    await save(page)
    await notice.waitFor({ state: 'detached' })
    const after = await read(slug)
    assert.deepEqual([after.metadata.tags, after.metadata.features], [['spring'], []])
    assert.deepEqual(problems, [])
  })

  test('names metadata that is not an object, and a save stores the form’s', async () => {
    const slug = uniqueSlug('rawnull')
    await suite.server.app.platform.database.db
      .insertInto('service_campaign_main')
      .values({
        slug,
        title: 'Hand edited',
        description: '',
        draft: false,
        created_by: 'legacy',
        metadata: sql`'null'::jsonb` as never,
        updated_at: new Date(),
      })
      .execute()
    const { page, problems } = await openSettings(slug)
    const item = page.locator('[data-testid="campaign-problems"] li[data-path="/metadata"]')
    await item.waitFor()
    assert.match((await item.textContent()) ?? '', /^Settings \(\/metadata\): must be a JSON object; null/)
    await page.locator('label.toggle', { hasText: 'presence' }).click()
    await save(page)
    const after = await read(slug)
    assert.equal(after.problems, undefined)
    assert.deepEqual(after.metadata.features, ['presence'])
    assert.deepEqual(problems, [])
  })
})
