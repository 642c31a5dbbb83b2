// The admin console on a campaign whose stored schedule cannot be read (a row stored before the
// checks): the editor names each problem the server reports, shows the unreadable times empty
// with the stored value quoted, and a save with a valid schedule fixes the campaign.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { adminHeaders, insertLegacyCampaign, json } from '../helper.js'
import { openLegacySettings, openSettings as openConsoleSettings } from './console-fixtures.js'
import { browserSuite, screenshot } from './harness.js'

describe('admin console on a campaign with problems', () => {
  const suite = browserSuite()

  const openSettings = (slug: string) => openConsoleSettings(suite, slug)

  test('names each problem, says the campaign is held closed, and a valid schedule clears it', async () => {
    // `end` a number: read as a date string it would be the year 1234, which must not be shown.
    const slug = await insertLegacyCampaign(suite.server.app, 'Legacy launch', {
      frequency: 2,
      timezone: 'Berlin',
      start: 'next tuesday',
      end: 1234,
    })
    const before = json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )
    assert.equal(before.status, 'draft')
    assert.equal(before.problems.length, 3)

    const { page, problems } = await openSettings(slug)
    const notice = page.locator('[data-testid="campaign-problems"]')
    await notice.waitFor()
    assert.equal(await notice.getAttribute('class'), 'notice problems-note')
    assert.equal(await notice.getAttribute('data-tone'), 'warn')
    const text = (await notice.textContent()) ?? ''
    assert.match(text, /held closed to visitors/)
    for (const p of before.problems as Array<{ path: string; message: string }>) {
      const item = notice.locator(`li[data-path="${p.path}"]`)
      assert.ok((await item.textContent())?.includes(p.message), p.path)
    }
    assert.match(
      (await notice.locator('li[data-path="/metadata/scheduling/start"]').textContent()) ?? '',
      /^Start/,
    )
    assert.match(
      (await notice.locator('li[data-path="/metadata/scheduling/timezone"]').textContent()) ?? '',
      /^Time zone/,
    )

    // The unreadable times start empty, each with the stored value quoted beside it.
    assert.equal(await page.locator('#ed-start').inputValue(), '')
    assert.equal(await page.locator('#ed-end').inputValue(), '')
    assert.match((await page.locator('#ed-start-error').textContent()) ?? '', /"next tuesday" cannot be read/)
    assert.match((await page.locator('#ed-end-error').textContent()) ?? '', /1234 cannot be read/)
    await screenshot(page, 'campaign-problems-console')

    await page.locator('#ed-tz').fill('Europe/Berlin')
    await page.locator('#ed-start').fill('2026-01-05T09:00')
    await page.locator('[data-testid="campaign-editor"] button[type="submit"]').click()
    const message = page.locator('[data-testid="editor-message"]')
    await message.waitFor()
    assert.equal(await message.getAttribute('data-tone'), 'ok', (await message.textContent()) ?? '')
    // The reload brings the campaign without `problems`: the notice and the field errors go.
    await notice.waitFor({ state: 'detached' })
    assert.equal(await page.locator('#ed-start-error').textContent(), '')
    assert.equal(await page.locator('#ed-end-error').textContent(), '')

    const after = json(
      await suite.server.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
    )
    assert.equal(after.problems, undefined)
    assert.equal(after.status, 'active')
    assert.deepEqual(after.metadata.scheduling, {
      frequency: 2,
      timezone: 'Europe/Berlin',
      start: '2026-01-05T08:00:00.000Z',
    })
    assert.deepEqual(problems, [])
  })

  test('an unknown time zone alone is named without saying the campaign is closed', async () => {
    const { page, problems } = await openLegacySettings(suite, 'Zone only', {
      frequency: 1,
      timezone: 'EST5',
      start: '2026-01-05T08:00:00.000Z',
    })
    const notice = page.locator('[data-testid="campaign-problems"]')
    await notice.waitFor()
    const text = (await notice.textContent()) ?? ''
    assert.doesNotMatch(text, /held closed/)
    assert.equal(await notice.locator('li').count(), 1)
    assert.match(text, /\/metadata\/scheduling\/timezone/)
    // A readable start is shown, read in this browser's zone while the stored one is unknown.
    assert.notEqual(await page.locator('#ed-start').inputValue(), '')
    assert.equal(await page.locator('#ed-start-error').textContent(), '')
    assert.deepEqual(problems, [])
  })
})
