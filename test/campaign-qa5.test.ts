// Campaign configuration, fifth QA pass: a row whose `metadata` is not a JSON object (JSON `null`,
// a string, an array, a number: a hand edit or an old version) is bad stored metadata like any
// other. Visitors, their actions, their sockets and the stats broadcaster read it with defaults;
// editors read it with a problem at `/metadata`; a patch that leaves metadata alone is refused
// naming `/metadata`, and one that sets metadata (even to what reads the same) writes it.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { hasFeature } from '../src/modules/campaign/campaign.schema.js'
import { readScheduleTime } from '../src/modules/campaign/schedule-time.js'
import { activeRule } from '../src/modules/referral/referral.rules.js'
import { legacyTime } from '../web/src/admin/zoned-time.js'
import {
  adminHeaders,
  buildTestApp,
  DIALECTS,
  guestToken,
  json,
  sendAction,
  type TestContext,
  uniqueSlug,
} from './helper.js'
import { editorView, patchCampaign, visitorView } from './campaign-fixtures.js'
import { baseUrl, connect } from './realtime/client.js'

/** What a hand edit may leave in the column, as JSON. */
const NOT_OBJECTS: Array<[string, string]> = [
  ['null', 'null'],
  ['a string', '"spring"'],
  ['an array', '["presence"]'],
  ['a number', '42'],
]

for (const dialect of DIALECTS) {
  describe(`campaign configuration, fifth QA pass (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
      await t.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => t.close())

    const get = (slug: string) => editorView(t.app, slug)
    const patch = (slug: string, payload: unknown, merge = false) =>
      patchCampaign(t.app, slug, payload, merge)
    const publicView = (slug: string) => visitorView(t.app, slug)
    /** A row whose `metadata` column holds `metadataJson` as it is (past the API and its checks). */
    const insertRaw = async (metadataJson: string, title = 'Hand edited') => {
      const slug = uniqueSlug('raw')
      await t.app.platform.database.db
        .insertInto('service_campaign_main')
        .values({
          slug,
          title,
          description: '',
          draft: false,
          created_by: 'legacy',
          metadata: sql`${metadataJson}::jsonb` as never,
          updated_at: new Date(),
        })
        .execute()
      return slug
    }
    const storedMetadata = async (slug: string) =>
      (
        await sql<{
          m: string
        }>`select metadata::text as m from service_campaign_main where slug = ${slug}`.execute(
          t.app.platform.database.db,
        )
      ).rows[0]!.m
    const paths = (res: LightMyRequestResponse) => json(res).error.details.map((d: any) => d.path)

    for (const [name, stored] of NOT_OBJECTS) {
      it(`serves visitors, their actions and sockets with defaults when metadata is ${name}`, async () => {
        const slug = await insertRaw(stored)
        assert.equal(await storedMetadata(slug), stored)
        const pub = await publicView(slug)
        assert.equal(pub.statusCode, 200, pub.body)
        assert.equal(json(pub).status, 'active')
        assert.deepEqual(json(pub).metadata, { features: [], scheduling: {}, tags: [] })

        const { token } = await guestToken(t.app)
        const action = await sendAction(t.app, slug, token, 'content.view', {})
        assert.equal(action.statusCode, 403, action.body)
        assert.equal(json(action).error.code, 'FEATURE_DISABLED')

        // A socket joins, and the stats broadcaster sends its figures (the default counters).
        const { token: socketToken } = await t.app.platform.tokens.issueGuest()
        const socket = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${socketToken}`)
        try {
          const stats = await socket.next((f) => f.type === 'stats_update', 20_000)
          assert.ok(stats)
          // An action over the socket is refused by name, not as an internal error.
          socket.send({ type: 'campaign_event', event: 'content.view', payload: {}, request_id: 'r1' })
          const ack = await socket.next((f) => f.type === 'update_ack' && f.request_id === 'r1', 20_000)
          assert.equal(ack.error?.code, 'FEATURE_DISABLED', JSON.stringify(ack))
          assert.equal(socket.closed, undefined)
        } finally {
          socket.close()
        }
      })

      it(`names /metadata to editors and refuses a patch that keeps metadata ${name}`, async () => {
        const slug = await insertRaw(stored)
        const read = await get(slug)
        assert.equal(read.statusCode, 200, read.body)
        assert.deepEqual(json(read).metadata, {})
        assert.deepEqual(
          json(read).problems.map((p: any) => p.path),
          ['/metadata'],
        )
        assert.match(json(read).problems[0].message, /JSON object/)

        const listed = await t.app.inject({
          method: 'GET',
          url: '/api/campaign?per_page=200',
          headers: adminHeaders,
        })
        assert.equal(listed.statusCode, 200, listed.body)
        const row = json(listed).campaigns.find((c: any) => c.slug === slug)
        assert.deepEqual(
          row.problems.map((p: any) => p.path),
          ['/metadata'],
        )

        for (const merge of [false, true]) {
          const res = await patch(slug, { title: 'Renamed' }, merge)
          assert.equal(res.statusCode, 400, res.body)
          assert.equal(json(res).error.code, 'VALIDATION_FAILED')
          assert.deepEqual(paths(res), ['/metadata'])
        }
        assert.equal(await storedMetadata(slug), stored)
        assert.equal(json(await get(slug)).version, 1)

        // Archiving and taking it back leave metadata alone, and answer.
        const archived = await t.app.inject({
          method: 'DELETE',
          url: `/api/campaign/${slug}`,
          headers: adminHeaders,
        })
        assert.equal(archived.statusCode, 200, archived.body)
        const restored = await t.app.inject({
          method: 'POST',
          url: `/api/campaign/${slug}/unarchive`,
          headers: adminHeaders,
        })
        assert.equal(restored.statusCode, 200, restored.body)
        assert.equal(json(restored).status, 'active')
      })

      it(`writes a patch that sets metadata over ${name}, even one that reads the same`, async () => {
        // `"metadata": null` as a merge patch: back to none set, which must be stored as `{}`.
        const a = await insertRaw(stored)
        const cleared = await patch(a, { title: 'Fixed', metadata: null }, true)
        assert.equal(cleared.statusCode, 200, cleared.body)
        assert.equal(json(cleared).problems, undefined)
        assert.equal(json(cleared).version, 2)
        assert.equal(await storedMetadata(a), '{}')

        // `metadata: {}` as a whole body, and as a merge patch: they read as the defaults did.
        for (const merge of [false, true]) {
          const b = await insertRaw(stored)
          const res = await patch(b, { metadata: {} }, merge)
          assert.equal(res.statusCode, 200, res.body)
          assert.equal(json(res).version, 2)
          assert.equal(await storedMetadata(b), '{}')
          const audit = await t.app.inject({
            method: 'GET',
            url: `/api/campaign/${b}/audit`,
            headers: adminHeaders,
          })
          assert.equal(audit.statusCode, 200, audit.body)
          const update = json(audit).entries.find((e: any) => e.action === 'update')
          assert.ok(JSON.stringify(update).includes('metadata'), JSON.stringify(update))
        }

        // A merge patch over it merges into none set.
        const c = await insertRaw(stored)
        const merged = await patch(c, { metadata: { features: ['presence'], tags: ['x'] } }, true)
        assert.equal(merged.statusCode, 200, merged.body)
        assert.deepEqual(json(merged).metadata, { features: ['presence'], tags: ['x'] })
      })
    }
  })
}

describe('a metadata column read past the campaign service (campaign.schema.ts)', () => {
  it('answers "no feature on" for JSON null, so the referral rechecks skip the campaign', () => {
    const raw = { metadata: null } as never
    assert.equal(hasFeature(raw, 'referral'), false)
    assert.equal(activeRule(raw), null)
  })
})

describe('the console reads a legacy start or end as the server does (zoned-time.ts)', () => {
  it('gives the instant the server reads, across clock changes, and nothing for a day that does not exist', () => {
    assert.deepEqual(legacyTime('2026-12-05', 'Europe/Paris'), {
      form: 'date',
      date: '2026-12-05',
      time: '00:00',
      at: '2026-12-04T23:00:00.000Z',
    })
    assert.equal(legacyTime('2026-12-05T09:00:30', 'Europe/Paris')?.at, '2026-12-05T08:00:30.000Z')
    assert.equal(legacyTime('2026-12-05T09:00:30', 'Europe/Paris')?.time, '09:00:30')
    for (const raw of ['2026-02-30', '2026-12-05T24:00', '2026-12-05T09:00:00+01:00', 'next tuesday', 1234])
      assert.equal(legacyTime(raw, 'Europe/Paris'), undefined, String(raw))
    const zones = ['Europe/Paris', 'America/Santiago', 'America/New_York', 'Australia/Lord_Howe', 'UTC']
    const values = [
      '2026-03-29T02:30', // skipped in Paris
      '2026-10-25T02:30', // repeated in Paris
      '2026-09-06', // a midnight Santiago skips
      '2026-03-08T02:15:45.5', // skipped in New York
      '2026-04-05T01:45', // repeated on Lord Howe (half an hour)
      '2026-12-05',
    ]
    for (const zone of zones)
      for (const value of values)
        assert.equal(
          Date.parse(legacyTime(value, zone)!.at),
          readScheduleTime(value, zone).at,
          `${value} in ${zone}`,
        )
  })
})
