// A campaign change tells every node's listeners the campaign before it (carried on the bus
// message, from the row the change locked), so the stream module ends a campaign's streams only
// when `streaming` went from on to off, not on every change of every campaign without it (each
// a database query), and still does when a notice does not say (a node that does not send it).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import type { CampaignBefore } from '../src/modules/campaign/campaign.service.js'
import { createCampaignService } from '../src/modules/campaign/index.js'
import { endStreamsWhenStreamingOff } from '../src/modules/stream/live.campaign-off.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, type TestContext } from './helper.js'
import { waitUntil } from './realtime/client.js'

const WAIT_MS = 30_000
const WITHOUT_STREAMING = FEATURES.filter((f) => f !== 'streaming')

interface Heard {
  version: number
  previous: { version: number; features: unknown } | null | undefined
}

for (const dialect of DIALECTS) {
  describe(`a campaign change carries the campaign before it (${dialect})`, () => {
    let t: TestContext
    /** Another node's campaign service on the same database and bus, and what its listeners did. */
    let node: ReturnType<typeof createCampaignService>
    const heard = new Map<string, Heard[]>()
    const ended: string[] = []
    const warnings: string[] = []

    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
      node = createCampaignService({ db: t.app.platform.database.db, bus: t.app.platform.bus })
      // The hook first, the recorder after: once the recorder heard a change, the hook has decided.
      endStreamsWhenStreamingOff({
        campaigns: node,
        live: {
          endAll: async (slug) => {
            ended.push(slug)
            return []
          },
        },
        log: { warn: (_details, message) => warnings.push(message) },
      })
      node.onChange((c: Campaign, previous: CampaignBefore | null | undefined) => {
        const list = heard.get(c.slug) ?? []
        list.push({
          version: c.version,
          previous: previous && { version: previous.version, features: previous.metadata.features },
        })
        heard.set(c.slug, list)
      })
      await node.start()
    })
    after(() => t.close())

    const api = async (method: 'PATCH' | 'DELETE' | 'POST', url: string, payload?: object) => {
      const res = await t.app.inject({ method, url, headers: adminHeaders, payload })
      assert.equal(res.statusCode, 200, res.body)
      return JSON.parse(res.body) as { version: number }
    }
    /** The other node heard `slug` at `version`: every listener of it has run for that change. */
    const heardVersion = (slug: string, version: number) =>
      waitUntil(
        () => (heard.get(slug) ?? []).some((h) => h.version === version),
        WAIT_MS,
        `${slug} v${version} on the other node`,
      )

    it('each listener hears the campaign before the change: null when created, then each version', async () => {
      const slug = await createCampaign(t.app, { features: WITHOUT_STREAMING })
      await heardVersion(slug, 1)
      await heardVersion(slug, (await api('PATCH', `/api/campaign/${slug}`, { title: 'Renamed' })).version)
      const features = ['presence', 'streaming']
      await heardVersion(
        slug,
        (await api('PATCH', `/api/campaign/${slug}`, { metadata: { features } })).version,
      )
      await heardVersion(slug, (await api('DELETE', `/api/campaign/${slug}`)).version)
      await heardVersion(slug, (await api('POST', `/api/campaign/${slug}/unarchive`)).version)

      assert.deepEqual(heard.get(slug), [
        { version: 1, previous: null },
        { version: 2, previous: { version: 1, features: WITHOUT_STREAMING } },
        { version: 3, previous: { version: 2, features: WITHOUT_STREAMING } },
        { version: 4, previous: { version: 3, features } },
        { version: 5, previous: { version: 4, features } },
      ])
    })

    it('a campaign that never had streaming ends no streams on a change; turning it off ends them once', async () => {
      const never = await createCampaign(t.app, { features: WITHOUT_STREAMING })
      await heardVersion(never, 1)
      await heardVersion(never, (await api('PATCH', `/api/campaign/${never}`, { title: 'Renamed' })).version)
      const tick = { metadata: { features: WITHOUT_STREAMING, scheduling: { frequency: 5 } } }
      await heardVersion(never, (await api('PATCH', `/api/campaign/${never}`, tick)).version)
      await heardVersion(never, (await api('DELETE', `/api/campaign/${never}`)).version)
      assert.deepEqual(
        ended.filter((s) => s === never),
        [],
      )

      const streamed = await createCampaign(t.app)
      await heardVersion(streamed, 1)
      const off = { metadata: { features: WITHOUT_STREAMING } }
      await heardVersion(streamed, (await api('PATCH', `/api/campaign/${streamed}`, off)).version)
      assert.deepEqual(
        ended.filter((s) => s === streamed),
        [streamed],
      )
      // Off already: a later change ends nothing again.
      await heardVersion(
        streamed,
        (await api('PATCH', `/api/campaign/${streamed}`, { title: 'Later' })).version,
      )
      assert.deepEqual(
        ended.filter((s) => s === streamed),
        [streamed],
      )
      assert.deepEqual(warnings, [])
    })

    it('a notice that does not say what came before ends the streams anyway: the safe side', async () => {
      const slug = await createCampaign(t.app, { features: WITHOUT_STREAMING })
      await heardVersion(slug, 1)
      // As a node that does not send `previous` publishes it.
      await t.app.platform.bus.publish('ovasabi:campaign:changed', { slug })
      await waitUntil(() => (heard.get(slug) ?? []).length === 2, WAIT_MS, 'the notice without previous')
      assert.deepEqual(heard.get(slug)?.[1], { version: 1, previous: undefined })
      assert.deepEqual(
        ended.filter((s) => s === slug),
        [slug],
      )
    })
  })
}
