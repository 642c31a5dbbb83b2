// Campaign configuration, fourth QA pass: a patch that leaves `metadata` alone (a title, a
// description, `draft`) must not save a row whose stored metadata today's checks refuse (it names
// each stored path, for the same patch to fix), reads of such a row are never a 500, and a legacy
// `start`/`end` without an offset ("2026-12-01") is read in the campaign's time zone (UTC without
// one), never in UTC or the server's zone behind the campaign's back.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { campaignStatus, scheduleInstants } from '../src/modules/campaign/campaign.schema.js'
import {
  buildTestApp,
  DIALECTS,
  guestToken,
  insertLegacyCampaign,
  json,
  sendAction,
  type TestContext,
  uniqueSlug,
} from './helper.js'
import { editorView, patchCampaign, visitorView } from './campaign-fixtures.js'

const at = (iso: string) => new Date(iso)
const legacy = (scheduling: Record<string, unknown>) =>
  ({ draft: false, archived_at: null, metadata: { scheduling } }) as never

describe('a legacy start or end without an offset (campaign.schema.ts)', () => {
  it('reads a date alone as the start of that day in the campaign’s zone, UTC without a known one', () => {
    const berlin = legacy({ start: '2026-12-01', timezone: 'Europe/Berlin' })
    assert.equal(scheduleInstants(berlin).start, Date.parse('2026-11-30T23:00:00Z'))
    // Half an hour before midnight UTC, it is already December 1st in Berlin.
    assert.equal(campaignStatus(berlin, at('2026-11-30T23:30:00Z')), 'active')
    assert.equal(campaignStatus(berlin, at('2026-11-30T22:59:59Z')), 'scheduled')
    for (const scheduling of [{ start: '2026-12-01' }, { start: '2026-12-01', timezone: 'Berlin' }]) {
      assert.equal(scheduleInstants(legacy(scheduling)).start, Date.parse('2026-12-01T00:00:00Z'))
    }
    // An end: the campaign ends as that day starts in New York (UTC−5 in December).
    const ny = legacy({ end: '2026-12-01', timezone: 'America/New_York' })
    assert.equal(campaignStatus(ny, at('2026-12-01T04:59:59Z')), 'active')
    assert.equal(campaignStatus(ny, at('2026-12-01T05:00:00Z')), 'ended')
  })

  it('reads a date-time without an offset as that wall-clock time there, across clock changes', () => {
    const read = (value: string, timezone?: string) =>
      scheduleInstants(legacy({ start: value, ...(timezone ? { timezone } : {}) })).start
    assert.equal(read('2026-12-01T09:00', 'America/New_York'), Date.parse('2026-12-01T14:00:00Z'))
    assert.equal(read('2026-12-01 09:00:30', 'Asia/Tokyo'), Date.parse('2026-12-01T00:00:30Z'))
    assert.equal(read('2026-12-01T09:00'), Date.parse('2026-12-01T09:00:00Z'))
    // Skipped by the clocks (Berlin springs from 02:00 to 03:00): moved forward by the gap.
    assert.equal(read('2026-03-29T02:30', 'Europe/Berlin'), Date.parse('2026-03-29T01:30:00Z'))
    // Read twice (Berlin falls back from 03:00 to 02:00): the earlier.
    assert.equal(read('2026-10-25T02:30', 'Europe/Berlin'), Date.parse('2026-10-25T00:30:00Z'))
    // A day whose midnight Chile skips starts at 01:00 local, the instant of the change.
    assert.equal(read('2026-09-06', 'America/Santiago'), Date.parse('2026-09-06T04:00:00Z'))
    // What names its offset is read as before.
    assert.equal(read('2026-12-01T09:00:00+01:00', 'Asia/Tokyo'), Date.parse('2026-12-01T08:00:00Z'))
  })

  it('holds a date that does not exist as unreadable instead of rolling it over', () => {
    for (const start of ['2026-02-30', '2026-13-01', '2026-12-01T24:00', '2026-12-01T10:00:60']) {
      assert.ok(Number.isNaN(scheduleInstants(legacy({ start })).start), start)
      assert.equal(campaignStatus(legacy({ start }), at('2026-06-01T00:00:00Z')), 'draft', start)
    }
    // At the edge of `Date`'s range, read in a zone behind UTC: unreadable, not an error.
    const edge = legacy({ start: '+275760-09-13', timezone: 'America/New_York' })
    assert.ok(Number.isNaN(scheduleInstants(edge).start))
  })
})

for (const dialect of DIALECTS) {
  describe(`campaign configuration, fourth QA pass (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
    })
    after(() => t.close())

    const get = (slug: string) => editorView(t.app, slug)
    const patch = (slug: string, payload: object, merge = false) => patchCampaign(t.app, slug, payload, merge)
    const publicView = (slug: string) => visitorView(t.app, slug)
    /** A row as an old version wrote it: `metadata` as given, unchecked. */
    const insertLegacyMetadata = async (metadata: Record<string, unknown>) => {
      const slug = uniqueSlug('legacy')
      await t.app.platform.database.db
        .insertInto('service_campaign_main')
        .values({
          slug,
          title: 'Old',
          description: '',
          draft: false,
          created_by: 'legacy',
          metadata: JSON.stringify(metadata),
          updated_at: new Date(),
        })
        .execute()
      return slug
    }
    const paths = (res: LightMyRequestResponse) => json(res).error.details.map((d: any) => d.path)

    it('refuses a title-only patch over stored metadata today’s checks refuse, naming each stored path', async () => {
      const slug = await insertLegacyMetadata({
        features: { presence: true },
        tags: 'spring',
        scheduling: { start: '2026-12-01', timezone: 'Berlin', colour: 'red' },
      })
      const expected = ['/metadata/scheduling/start', '/metadata/features', '/metadata/tags']
      // Editors see what to fix (the unknown zone too, which a patch may leave alone).
      const read = json(await get(slug))
      assert.deepEqual(
        read.problems.map((p: any) => p.path),
        [
          '/metadata/scheduling/start',
          '/metadata/scheduling/timezone',
          '/metadata/features',
          '/metadata/tags',
        ],
      )
      for (const merge of [false, true]) {
        for (const body of [{ title: 'Renamed' }, { description: 'New words' }, { draft: true }]) {
          const res = await patch(slug, body, merge)
          assert.equal(res.statusCode, 400, res.body)
          assert.equal(json(res).error.code, 'VALIDATION_FAILED')
          assert.deepEqual(paths(res), expected)
          assert.match(json(res).error.message, /stored before/)
        }
      }
      // Nothing was written.
      const unchanged = json(await get(slug))
      assert.equal(unchanged.version, 1)
      assert.equal(unchanged.title, 'Old')

      // The same patch fixes them (the zone and the old `colour` may stay, as a merge patch keeps them).
      const fixed = await patch(
        slug,
        {
          title: 'Renamed',
          metadata: {
            features: ['presence'],
            tags: ['spring'],
            scheduling: { start: '2026-12-01T00:00:00+01:00' },
          },
        },
        true,
      )
      assert.equal(fixed.statusCode, 200, fixed.body)
      assert.equal(json(fixed).title, 'Renamed')
      assert.deepEqual(
        json(fixed).problems.map((p: any) => p.path),
        ['/metadata/scheduling/timezone'],
      )
      // What is left is kept while patches leave it alone: a title-only patch now applies.
      const renamed = await patch(slug, { title: 'Renamed again' })
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.equal(json(renamed).metadata.scheduling.colour, 'red')
    })

    it('applies a title-only patch over legacy leftovers a merge patch keeps (unknown zone, old schedule keys)', async () => {
      const slug = await insertLegacyCampaign(t.app, 'Zoned', {
        frequency: 2,
        timezone: 'EST5',
        colour: 'red',
        start: '2026-01-05T08:00:00Z',
      })
      const res = await patch(slug, { title: 'Still zoned' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).version, 2)
    })

    it('answers visitors and their actions on such a row instead of a 500', async () => {
      const slug = await insertLegacyMetadata({ features: { presence: true }, tags: ['ok', 7] })
      const pub = await publicView(slug)
      assert.equal(pub.statusCode, 200, pub.body)
      assert.deepEqual(json(pub).metadata.features, [])
      assert.deepEqual(json(pub).metadata.tags, ['ok'])
      const { token } = await guestToken(t.app)
      const action = await sendAction(t.app, slug, token, 'content.view', {})
      assert.equal(action.statusCode, 403, action.body)
      assert.equal(json(action).error.code, 'FEATURE_DISABLED')
    })

    it('reads a legacy date in the campaign’s zone, shows visitors that instant, and names it to editors', async () => {
      const slug = await insertLegacyCampaign(t.app, 'Dated', {
        start: '2026-12-01',
        end: '2027-01-01T00:00',
        timezone: 'Europe/Berlin',
      })
      const pub = await publicView(slug)
      assert.equal(pub.statusCode, 200, pub.body)
      // What the server reads, so a page's `new Date` reads it too (not midnight UTC).
      assert.deepEqual(json(pub).metadata.scheduling, {
        start: '2026-11-30T23:00:00.000Z',
        end: '2026-12-31T23:00:00.000Z',
        timezone: 'Europe/Berlin',
      })
      const full = json(await get(slug))
      assert.deepEqual(full.metadata.scheduling, {
        start: '2026-12-01',
        end: '2027-01-01T00:00',
        timezone: 'Europe/Berlin',
      })
      const [start, end] = full.problems
      assert.equal(start.path, '/metadata/scheduling/start')
      assert.match(start.message, /Europe\/Berlin, 2026-12-01T00:00:00\+01:00/)
      assert.equal(end.path, '/metadata/scheduling/end')
      assert.match(end.message, /2027-01-01T00:00:00\+01:00/)

      // A patch changing the zone would move them: it must restate them (nothing shifts silently).
      const rezoned = await patch(slug, { metadata: { scheduling: { timezone: 'Asia/Tokyo' } } }, true)
      assert.equal(rezoned.statusCode, 400, rezoned.body)
      assert.deepEqual(paths(rezoned), ['/metadata/scheduling/start', '/metadata/scheduling/end'])

      // One at the edge of what a date can be is held closed, never a 500.
      const edge = await insertLegacyCampaign(t.app, 'Edge', {
        start: '+275760-09-13',
        timezone: 'America/New_York',
      })
      const edgeRead = await get(edge)
      assert.equal(edgeRead.statusCode, 200, edgeRead.body)
      assert.equal(json(edgeRead).status, 'draft')
      assert.equal((await publicView(edge)).statusCode, 404)
    })
  })
}
