// Campaign configuration, second QA pass: archived campaigns are read-only until unarchived,
// `metadata.scheduling` is closed, the campaign cache keeps real campaigns when random slugs are
// asked for, and rows stored before the checks existed (blank title, unknown zone) still read.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import { createCampaignService } from '../src/modules/campaign/index.js'
import { createMemoryBus } from '../src/platform/bus/memory.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  insertLegacyCampaign,
  json,
  type TestContext,
  uniqueSlug,
  userToken,
} from './helper.js'
import { baseUrl, connect, waitUntil } from './realtime/client.js'

const WAIT_MS = 30_000

for (const dialect of DIALECTS) {
  describe(`campaign configuration, second QA pass (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
      await t.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => t.close())

    const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers = {}) =>
      t.app.inject({ method, url, headers: { ...adminHeaders, ...headers }, payload })
    const mergePatch = (slug: string, payload: object) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify(payload),
      })
    const publicView = async (slug: string) => {
      const { token } = await guestToken(t.app)
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}`,
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res)
    }
    /** Another node's campaign service on the same database and bus, with its own cache. */
    const otherNode = async (cache?: Parameters<typeof createCampaignService>[0]['cache']) => {
      const service = createCampaignService({
        db: t.app.platform.database.db,
        bus: t.app.platform.bus,
        cache,
      })
      await service.start()
      return service
    }

    it('refuses changes to an archived campaign with 409 CAMPAIGN_ARCHIVED until it is unarchived', async () => {
      const slug = await createCampaign(t.app, { features: ['presence', 'analytics'] })
      const heard: Campaign[] = []
      const node = await otherNode()
      node.onChange((c) => c.slug === slug && heard.push(c))
      const archived = await api('DELETE', `/api/campaign/${slug}`)
      assert.equal(archived.statusCode, 200, archived.body)
      const version = json(archived).version

      for (const res of [
        await api('PATCH', `/api/campaign/${slug}`, { title: 'Renamed' }),
        await api('PATCH', `/api/campaign/${slug}`, { draft: false, version }),
        await mergePatch(slug, { metadata: { tags: ['late'] } }),
      ]) {
        assert.equal(res.statusCode, 409, res.body)
        assert.equal(json(res).error.code, 'CAMPAIGN_ARCHIVED')
      }
      // Its operations stay open for clean-up and reporting: webhooks, leads, stats, audit.
      for (const sub of ['webhooks', 'leads', 'stats', 'audit']) {
        const res = await api('GET', `/api/campaign/${slug}/${sub}`)
        assert.equal(res.statusCode, 200, `${sub}: ${res.body}`)
      }
      const still = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(still.version, version)
      assert.equal(still.title, `Test ${slug}`)
      assert.equal(still.status, 'archived')

      // Only an admin takes it back.
      const participant = await userToken(t.app, `u_${randomBytes(4).toString('hex')}`)
      const refused = await t.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/unarchive`,
        headers: { authorization: `Bearer ${participant}` },
      })
      assert.equal(refused.statusCode, 403, refused.body)

      const restored = await api('POST', `/api/campaign/${slug}/unarchive`)
      assert.equal(restored.statusCode, 200, restored.body)
      assert.equal(json(restored).status, 'active')
      assert.equal(json(restored).archived_at, null)
      assert.equal(json(restored).version, version + 1)
      assert.equal(restored.headers.etag, `"${version + 1}"`)
      // Idempotent: a second one changes nothing.
      const again = await api('POST', `/api/campaign/${slug}/unarchive`)
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(json(again).version, version + 1)
      assert.equal((await api('POST', `/api/campaign/${uniqueSlug('none')}/unarchive`)).statusCode, 404)

      // Announced as any change: another node hears it, and sockets are let in again.
      await waitUntil(() => heard.some((c) => c.archived_at === null), WAIT_MS, 'the unarchive announced')
      const { token } = await guestToken(t.app)
      const visitor = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
      visitor.close()
      const renamed = await api('PATCH', `/api/campaign/${slug}`, { title: 'Renamed' })
      assert.equal(renamed.statusCode, 200, renamed.body)
      const audit = json(await api('GET', `/api/campaign/${slug}/audit`))
      assert.deepEqual(
        audit.entries.map((e: any) => e.action),
        ['update', 'unarchive', 'archive', 'create'],
      )
    })

    it('refuses an unknown scheduling key on create, PATCH and merge patch, naming its path', async () => {
      const slug = uniqueSlug('sched')
      const created = await api('POST', '/api/campaign', {
        slug,
        title: 'Closed schedule',
        metadata: { scheduling: { frequency: 2, colour: 'red' } },
      })
      assert.equal(created.statusCode, 400, created.body)
      assert.equal(json(created).error.code, 'VALIDATION_FAILED')
      assert.deepEqual(json(created).error.details, [
        { in: 'body', path: '/metadata/scheduling/colour', message: 'is not a known property' },
      ])
      await createCampaign(t.app, { slug, metadata: { scheduling: { frequency: 2 } } })

      const put = await api('PATCH', `/api/campaign/${slug}`, {
        metadata: { scheduling: { frequency: 2, secret_note: 'x' } },
      })
      assert.equal(put.statusCode, 400, put.body)
      assert.deepEqual(
        json(put).error.details.map((d: any) => d.path),
        ['/metadata/scheduling/secret_note'],
      )
      const merged = await mergePatch(slug, { metadata: { scheduling: { frequncy: 5 } } })
      assert.equal(merged.statusCode, 400, merged.body)
      assert.deepEqual(json(merged).error.details, [
        { in: 'body', path: '/metadata/scheduling/frequncy', message: 'is not a known property' },
      ])
      const read = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(read.version, 1)
      assert.deepEqual(read.metadata.scheduling, { frequency: 2 })
      assert.deepEqual((await publicView(slug)).metadata.scheduling, { frequency: 2 })
    })

    it('reads and edits a row stored before the checks: extra scheduling keys, blank title, unknown zone', async () => {
      const slug = await insertLegacyCampaign(t.app, '   ', {
        frequency: 2,
        timezone: 'Berlin',
        colour: 'red',
        internal_note: 'call Bob',
      })

      // Visitors: a title, only the schedule's own keys, a zone `Intl` can use.
      const pub = await publicView(slug)
      assert.equal(pub.title, slug)
      assert.equal(pub.status, 'active')
      assert.deepEqual(pub.metadata.scheduling, { frequency: 2, timezone: 'UTC' })
      assert.doesNotThrow(
        () => new Intl.DateTimeFormat('en-US', { timeZone: pub.metadata.scheduling.timezone }),
      )

      // Editors: the list and the campaign name it; the stored schedule is shown as it is.
      const full = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(full.title, slug)
      assert.equal(full.metadata.scheduling.timezone, 'Berlin')
      const listed = json(await api('GET', '/api/campaign?per_page=200')).campaigns.find(
        (c: any) => c.slug === slug,
      )
      assert.equal(listed?.title, slug)

      // A socket still opens on it.
      const { token } = await guestToken(t.app)
      const visitor = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
      visitor.close()

      // A merge patch that leaves the schedule alone applies, keeping what it does not name.
      const tagged = await mergePatch(slug, { metadata: { tags: ['old'] } })
      assert.equal(tagged.statusCode, 200, tagged.body)
      assert.deepEqual(json(tagged).metadata.scheduling, {
        frequency: 2,
        timezone: 'Berlin',
        colour: 'red',
        internal_note: 'call Bob',
      })
      // A save that names the zone again must name a real one (the console's form sends it).
      const sameZone = await api('PATCH', `/api/campaign/${slug}`, {
        title: 'Legacy',
        metadata: { features: ['presence'], scheduling: { frequency: 2, timezone: 'Berlin' } },
      })
      assert.equal(sameZone.statusCode, 400, sameZone.body)
      assert.equal(json(sameZone).error.details[0].path, '/metadata/scheduling/timezone')
      const zoned = await mergePatch(slug, { metadata: { scheduling: { timezone: 'Europe/Berlin' } } })
      assert.equal(zoned.statusCode, 200, zoned.body)
      // What the console's form sends: its own keys only, the old ones gone.
      const saved = await api('PATCH', `/api/campaign/${slug}`, {
        title: 'Legacy',
        version: json(zoned).version,
        metadata: { features: ['presence'], scheduling: { frequency: 3, timezone: 'Europe/Berlin' } },
      })
      assert.equal(saved.statusCode, 200, saved.body)
      assert.equal(json(saved).title, 'Legacy')
      assert.deepEqual(json(saved).metadata.scheduling, { frequency: 3, timezone: 'Europe/Berlin' })
      assert.deepEqual((await publicView(slug)).metadata.scheduling, {
        frequency: 3,
        timezone: 'Europe/Berlin',
      })
    })

    it('keeps real campaigns cached while random slugs are asked for, and still hears changes', async () => {
      const slug = await createCampaign(t.app, { features: ['presence'] })
      // A node that hears nothing and whose reads never expire: what it holds is told by the
      // title it answers after the row changed behind it.
      const cache = { ttlMs: 600_000, maxCampaigns: 50, maxMissing: 20 }
      const deaf = createCampaignService({ db: t.app.platform.database.db, bus: createMemoryBus(), cache })
      assert.equal((await deaf.get(slug)).title, `Test ${slug}`)
      await t.app.platform.database.db
        .updateTable('service_campaign_main')
        .set({ title: 'Changed behind the cache' })
        .where('slug', '=', slug)
        .execute()
      assert.equal((await deaf.get(slug)).title, `Test ${slug}`, 'read from the cache')

      // An attacker's random slugs: many times the bounds.
      for (let i = 0; i < 300; i++)
        assert.equal(await deaf.find(`nope_${i}_${randomBytes(3).toString('hex')}`), undefined)
      assert.equal((await deaf.get(slug)).title, `Test ${slug}`, 'still cached after random slugs')

      // Past its bound, the campaign read longest ago goes first, not every one.
      const others = await Promise.all(Array.from({ length: 60 }, () => createCampaign(t.app)))
      for (const other of others) {
        await deaf.get(other)
        await deaf.get(slug)
      }
      assert.equal((await deaf.get(slug)).title, `Test ${slug}`, 'kept: read recently')
      await t.app.platform.database.db
        .updateTable('service_campaign_main')
        .set({ title: 'Changed again' })
        .where('slug', 'in', others)
        .execute()
      assert.equal((await deaf.get(others[0]!)).title, 'Changed again', 'read longest ago: forgotten')

      // A node on the bus, its bounds as small and as full: a change made through another node
      // reaches its cache, and so does a campaign created after it found none under its slug.
      const node = await otherNode(cache)
      for (let i = 0; i < 100; i++) await node.find(`nope_${i}_${randomBytes(3).toString('hex')}`)
      await node.get(slug)
      const changed = await api('PATCH', `/api/campaign/${slug}`, { title: 'Renamed everywhere' })
      assert.equal(changed.statusCode, 200, changed.body)
      await waitUntil(
        async () => (await node.get(slug)).title === 'Renamed everywhere',
        WAIT_MS,
        'the change heard',
      )
      const late = uniqueSlug('late')
      assert.equal(await node.find(late), undefined)
      await createCampaign(t.app, { slug: late })
      await waitUntil(async () => (await node.find(late)) !== undefined, WAIT_MS, 'the creation heard')
    })
  })
}
