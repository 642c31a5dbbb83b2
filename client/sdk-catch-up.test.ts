// The SDK's calls for today's server changes, against the real server on a real port: unarchiving
// a campaign, paging the media list, and translating into the reader's locale without a target.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type FakeLibreTranslate, startFakeLibreTranslate } from '../test/fixtures/libretranslate.js'
import { ADMIN_KEY, buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import { createClient, type OvasabiClient, OvasabiError, type TranslateInput } from './index.js'

/** The error a call failed with (fails the test when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<OvasabiError> {
  try {
    await call
  } catch (err) {
    assert.ok(err instanceof OvasabiError, String(err))
    return err
  }
  assert.fail('expected the call to be refused')
}

for (const dialect of DIALECTS) {
  describe(`SDK catch-up: unarchive, media paging, translate by locale (${dialect})`, () => {
    let ctx: TestContext
    let lt: FakeLibreTranslate
    let admin: OvasabiClient
    let baseUrl: string

    before(async () => {
      lt = await startFakeLibreTranslate({ batchLimit: 50 })
      ctx = await buildTestApp({
        dialect,
        env: { LIBRETRANSLATE_URL: lt.url, LIBRETRANSLATE_BATCH_WINDOW_MS: '5' },
      })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
    })
    after(async () => {
      await ctx.close()
      await lt.close()
    })

    test('campaigns.unarchive makes an archived campaign editable again', async () => {
      const slug = await createCampaign(ctx.app)
      const archived = await admin.campaigns.archive(slug)
      assert.equal(archived.status, 'archived')
      const refused = await refusal(admin.campaigns.update(slug, { title: 'While archived' }))
      assert.deepEqual([refused.status, refused.code], [409, 'CAMPAIGN_ARCHIVED'])

      const restored = await admin.campaigns.unarchive(slug)
      assert.notEqual(restored.status, 'archived')
      assert.equal(restored.archived_at, null)
      assert.ok(restored.version > archived.version, 'the version moves on')
      // Idempotent: a second call answers the campaign as it is.
      assert.equal((await admin.campaigns.unarchive(slug)).version, restored.version)
      const saved = await admin.campaigns.update(slug, { title: 'Back in business' })
      assert.equal(saved.title, 'Back in business')

      const guest = createClient({ baseUrl })
      await guest.createSession()
      const forbidden = await refusal(guest.campaigns.unarchive(slug))
      assert.equal(forbidden.status, 403)
      const missing = await refusal(admin.campaigns.unarchive(`${slug}_gone`))
      assert.equal(missing.code, 'CAMPAIGN_NOT_FOUND')
    })

    test('media.list pages with before and filters by status', async () => {
      const slug = await createCampaign(ctx.app)
      const uploader = createClient({ baseUrl })
      await uploader.createSession()
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        const r = await uploader.media.requestUpload(slug, {
          filename: `f${i}.pdf`,
          content_type: 'application/pdf',
          size: 100,
        })
        ids.push(r.result.media_id)
      }
      const newestFirst = [...ids].sort().reverse()
      const page = async (q: Parameters<OvasabiClient['media']['list']>[1]) =>
        (await admin.media.list(slug, q)).media.map((m) => m.media_id)

      assert.deepEqual(await page({}), newestFirst)
      const first = await page({ limit: 2 })
      assert.deepEqual(first, newestFirst.slice(0, 2))
      const second = await page({ limit: 2, before: first.at(-1) })
      assert.deepEqual(second, newestFirst.slice(2, 4))
      assert.deepEqual(await page({ limit: 2, before: second.at(-1) }), newestFirst.slice(4))
      assert.deepEqual(await page({ before: newestFirst.at(-1) }), [])
      assert.deepEqual(await page({ status: 'pending', limit: 500 }), newestFirst)
      assert.deepEqual(await page({ status: 'ready' }), [])

      // @ts-expect-error: not a media status
      const bad = await refusal(admin.media.list(slug, { status: 'gone' }))
      assert.deepEqual([bad.status, bad.code], [400, 'VALIDATION_FAILED'])
    })

    test('translation.translate takes context.locale in place of target', async () => {
      const reader = createClient({ baseUrl })
      await reader.createSession()
      const q = `Welcome ${Date.now().toString(36)}`
      const byLocale = await reader.translation.translate({ q, source: 'en', context: { locale: 'de' } })
      assert.deepEqual(
        byLocale.translations.map((t) => [t.target, t.provider]),
        [['de', 'libretranslate']],
      )
      // A named target wins over the reader's locale.
      const named = await reader.translation.translate({
        q,
        source: 'en',
        target: 'it',
        context: { locale: 'de' },
      })
      assert.deepEqual(
        named.translations.map((t) => t.target),
        ['it'],
      )

      // Neither a target nor a locale: the type refuses it, and so does the server.
      // @ts-expect-error: target or context.locale is required
      const neither: TranslateInput = { q, source: 'en', context: { page: '/home' } }
      const refused = await refusal(reader.translation.translate(neither))
      assert.deepEqual([refused.status, refused.code], [400, 'VALIDATION_FAILED'])
    })
  })
}
