// The SDK's conditional campaign changes against a real app: `campaigns.mergePatch` (RFC 7396,
// `null` removes) and `ifMatch` on mergePatch, update, archive and unarchive (412 on a stale one).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createClient, OvasabiError, type OvasabiClient } from '../client/index.js'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  listenLocally,
  type TestContext,
} from './helper.js'

/** Runs `call`, which must be refused as stale: the SDK's error, 412 `PRECONDITION_FAILED`. */
async function refusedAsStale(call: () => Promise<unknown>) {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof OvasabiError, String(err))
    assert.equal(err.status, 412)
    assert.equal(err.code, 'PRECONDITION_FAILED')
    return true
  })
}

for (const dialect of DIALECTS) {
  describe(`SDK conditional campaign changes (${dialect})`, () => {
    let ctx: TestContext
    let sdk: OvasabiClient
    before(async () => {
      ctx = await buildTestApp({ dialect })
      sdk = createClient({ baseUrl: await listenLocally(ctx.app), apiKey: ADMIN_KEY })
    })
    after(() => ctx.close())

    it('mergePatch removes a metadata key and resets the description with null, keeping the rest', async () => {
      const slug = await createCampaign(ctx.app, {
        features: ['presence'],
        metadata: { tags: ['spring'], service_specific: { crm: 'x' } },
      })
      await sdk.campaigns.update(slug, { description: 'About spring' })
      const patched = await sdk.campaigns.mergePatch(slug, {
        description: null,
        metadata: { service_specific: null },
      })
      assert.equal(patched.description, '')
      const metadata = patched.metadata as Record<string, unknown>
      assert.equal('service_specific' in metadata, false)
      assert.deepEqual(metadata.tags, ['spring'])
      assert.deepEqual(metadata.features, ['presence'])
      const read = (await sdk.campaigns.get(slug)) as {
        description: string
        metadata: Record<string, unknown>
      }
      assert.equal(read.description, '')
      assert.equal('service_specific' in read.metadata, false)
    })

    it('mergePatch with a stale ifMatch is refused as 412 and changes nothing; the current one passes', async () => {
      const slug = await createCampaign(ctx.app, { metadata: { service_specific: { crm: 'x' } } })
      const read = await sdk.campaigns.mergePatch(slug, { description: 'first' })
      const stale = read.version
      await sdk.campaigns.mergePatch(slug, { description: 'second' })
      await refusedAsStale(() =>
        sdk.campaigns.mergePatch(slug, { metadata: { service_specific: null } }, { ifMatch: stale }),
      )
      const kept = (await sdk.campaigns.get(slug)) as { version: number; metadata: Record<string, unknown> }
      assert.deepEqual(kept.metadata.service_specific, { crm: 'x' })
      const done = await sdk.campaigns.mergePatch(
        slug,
        { metadata: { service_specific: null } },
        { ifMatch: kept.version },
      )
      assert.equal('service_specific' in (done.metadata as Record<string, unknown>), false)
    })

    it('update takes ifMatch too: stale is 412, the current ETag as read passes', async () => {
      const slug = await createCampaign(ctx.app)
      const first = await sdk.campaigns.update(slug, { description: 'one' })
      await sdk.campaigns.update(slug, { description: 'two' })
      await refusedAsStale(() =>
        sdk.campaigns.update(slug, { description: 'three' }, { ifMatch: first.version }),
      )
      const current = (await sdk.campaigns.get(slug)) as { version: number; description: string }
      assert.equal(current.description, 'two')
      const saved = await sdk.campaigns.update(
        slug,
        { description: 'three' },
        { ifMatch: `"${current.version}"` },
      )
      assert.equal(saved.description, 'three')
    })

    it('archive and unarchive with a stale ifMatch are 412 and leave the status; the current one passes', async () => {
      const slug = await createCampaign(ctx.app)
      const first = await sdk.campaigns.update(slug, { description: 'one' })
      const shown = await sdk.campaigns.update(slug, { description: 'two' })

      await refusedAsStale(() => sdk.campaigns.archive(slug, { ifMatch: first.version }))
      assert.notEqual(((await sdk.campaigns.get(slug)) as { status: string }).status, 'archived')
      const archived = await sdk.campaigns.archive(slug, { ifMatch: shown.version })
      assert.equal(archived.status, 'archived')

      await refusedAsStale(() => sdk.campaigns.unarchive(slug, { ifMatch: shown.version }))
      assert.equal(((await sdk.campaigns.get(slug)) as { status: string }).status, 'archived')
      const restored = await sdk.campaigns.unarchive(slug, { ifMatch: archived.version })
      assert.notEqual(restored.status, 'archived')
    })
  })
}
