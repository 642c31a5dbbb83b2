import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { sweepTranslationCache } from '../src/modules/localization/cache-sweep.js'
import { pickLocale } from '../src/modules/localization/locale.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import * as m024 from '../src/platform/db/migrations/024_translation_cache_retention.js'
import { fakeTranslation, listenUpstream, startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, withDatabase } from './helper.js'
import { translationSuite } from './localization-fixtures.js'
import { waitFor } from './wait-for.js'

const tag = () => randomBytes(3).toString('hex')
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const DAY_MS = 86_400_000

/**
 * A LibreTranslate stand-in whose `GET /languages` (what the health check asks) answers after
 * `languagesDelayMs`, counting the calls; `/translate` answers as the fake does.
 */
async function startSlowLanguagesUpstream() {
  const state = { url: '', languagesCalls: 0, languagesDelayMs: 0, close: async () => {} }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.method === 'GET') {
      state.languagesCalls++
      await new Promise((r) => setTimeout(r, state.languagesDelayMs))
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('[{"code":"en","name":"English","targets":["de"]}]')
    }
    const { q, target, format } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    const out = texts.map((t) => fakeTranslation(t, target, format))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

/** A cache row as the service writes it, last used `daysAgo` days ago. */
function cacheRow(text: string, daysAgo: number, target = 'fr') {
  return {
    text_hash: sha256(text),
    source: 'en',
    target,
    format: 'text',
    context: '',
    source_text: text,
    translated_text: `cached ${text}`,
    provider: 'libretranslate',
    detected_source: null,
    used_at: new Date(Date.now() - daysAgo * DAY_MS),
  }
}

const dbOf = (app: { platform: { database: { db: Db } } }) => app.platform.database.db

describe('localization QA3: locale matching (unit)', () => {
  it('serves a tag by its longest prefix, never by an entry in another script', () => {
    assert.equal(pickLocale('zh-Hant-TW', ['zh', 'zh-Hant']), 'zh-Hant')
    assert.equal(pickLocale('zh-TW', ['zh', 'zh-Hant']), 'zh-Hant', 'zh-TW is written in Hant')
    assert.equal(pickLocale('zh-TW', ['zh']), undefined, 'Simplified does not serve a Taiwanese reader')
    assert.equal(pickLocale('zh-CN', ['zh', 'zh-Hant']), 'zh')
    assert.equal(pickLocale('zh', ['zh-Hans', 'zh-Hant']), 'zh-Hans', 'LibreTranslate 1.6 names Chinese so')
    assert.equal(pickLocale('sr-Latn', ['sr']), undefined, 'sr alone is Cyrillic')
    // What matched before still does.
    assert.equal(pickLocale('fr-FR', ['fr']), 'fr')
    assert.equal(pickLocale('FR_fr', ['de', 'fr']), 'fr')
    assert.equal(pickLocale('pt_br', ['pt', 'pt-BR']), 'pt-BR')
    assert.equal(pickLocale('de-CH-1901', ['de']), 'de')
    assert.equal(pickLocale('en-GB', ['en-US']), undefined)
  })
})

for (const dialect of DIALECTS) {
  describe(`localization QA3: health probe (${dialect})`, () => {
    const suite = translationSuite(dialect, startSlowLanguagesUpstream)

    it('answers at once while LibreTranslate is slow, one check shared by every probe', async () => {
      const translation = async () =>
        json(await suite.ctx.app.inject({ method: 'GET', url: '/health/ready' })).dependencies.translation
      // Longer than the health registry's own 2 s bound: the probe must not wait for either.
      suite.upstream.languagesDelayMs = 3000
      // Once the answer cached before has expired, a probe finds a check of the slow upstream.
      await waitFor(async () => (await translation()).status === 'down')
      const before = suite.upstream.languagesCalls
      const probes = await Promise.all(
        Array.from({ length: 5 }, () => suite.ctx.app.inject({ method: 'GET', url: '/health/ready' })),
      )
      for (const res of probes) {
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).dependencies.translation.status, 'down', res.body)
      }
      assert.equal(
        suite.upstream.languagesCalls,
        before,
        'the five probes waited on the check under way instead of asking the upstream again',
      )
      // The check goes on in the background; its answer serves the probes after it.
      suite.upstream.languagesDelayMs = 0
      await waitFor(async () => (await translation()).status === 'up')
    })
  })

  describe(`localization QA3: cache retention (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate({ batchLimit: 50 }))

    it('sweeps rows unused past the retention, a bounded number per pass', async () => {
      const db = dbOf(suite.ctx.app)
      const run = tag()
      const old = Array.from({ length: 5 }, (_, i) => `old ${run} ${i}`)
      const recent = `recent ${run}`
      await db
        .insertInto('service_localization_translation')
        .values([...old.map((t) => cacheRow(t, 40)), cacheRow(recent, 10)])
        .execute()
      const left = async () =>
        (
          await db
            .selectFrom('service_localization_translation')
            .select('source_text')
            .where('source_text', 'like', `% ${run}%`)
            .execute()
        ).length
      assert.equal(await sweepTranslationCache(db, 30, { maxRows: 3 }), 3)
      assert.equal(await left(), 3)
      assert.equal(await sweepTranslationCache(db, 30, { maxRows: 3 }), 2)
      assert.equal(await sweepTranslationCache(db, 30, { maxRows: 3 }), 0)
      assert.equal(await left(), 1, 'the row used 10 days ago stays')
    })

    it('counts the retention from the last use: a row that answers stays', async () => {
      const db = dbOf(suite.ctx.app)
      const q = `Still asked for ${tag()}`
      await db
        .insertInto('service_localization_translation')
        .values([cacheRow(q, 40), cacheRow(q, 40, 'de')])
        .execute()
      const calls = suite.upstream.calls
      const res = await suite.translate({ q, source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        [json(res).translations[0].provider, json(res).translations[0].text],
        ['cache', `cached ${q}`],
      )
      assert.equal(suite.upstream.calls, calls)
      await sweepTranslationCache(db, 30)
      const rows = await db
        .selectFrom('service_localization_translation')
        .select('target')
        .where('text_hash', '=', sha256(q))
        .execute()
      assert.deepEqual(
        rows.map((r) => r.target),
        ['fr'],
        'the French row answered and stays; the German one was unused',
      )
    })

    if (dialect === 'postgres') {
      it('sweeps at start by TRANSLATION_CACHE_RETENTION_DAYS', async () => {
        const db = dbOf(suite.ctx.app)
        const run = tag()
        await db
          .insertInto('service_localization_translation')
          .values([cacheRow(`ten days ${run}`, 10), cacheRow(`five days ${run}`, 5)])
          .execute()
        const second = await buildTestApp({
          dialect,
          databaseUrl: suite.ctx.databaseUrl,
          env: { LIBRETRANSLATE_URL: suite.upstream.url, TRANSLATION_CACHE_RETENTION_DAYS: '7' },
        })
        await second.close()
        const rows = await db
          .selectFrom('service_localization_translation')
          .select('source_text')
          .where('source_text', 'like', `% ${run}`)
          .execute()
        assert.deepEqual(
          rows.map((r) => r.source_text),
          [`five days ${run}`],
        )
      })
    }

    it('the migration folds rows cached under a context into one row per text', async () => {
      await withDatabase(dialect, async ({ db }) => {
        await migrateToLatest(db)
        // As an upgrade meets it: the table as it was before.
        await m024.down(db)
        const row = (text: string, context: string, translated: string) => ({
          text_hash: sha256(text),
          source: 'en',
          target: 'fr',
          format: 'text',
          context,
          source_text: text,
          translated_text: translated,
          provider: 'libretranslate',
        })
        await db
          .insertInto('service_localization_translation')
          .values([
            row('one', '["/a",null,null]', 'un (page a)'),
            row('one', '', 'un'),
            row('two', '["/c",null,null]', 'deux (page c)'),
            row('two', '["/b",null,null]', 'deux (page b)'),
            row('three', '["/d",null,null]', 'trois'),
          ])
          .execute()
        await m024.up(db)
        const rows = await db
          .selectFrom('service_localization_translation')
          .select(['source_text', 'context', 'translated_text', 'used_at'])
          .orderBy('source_text')
          .execute()
        assert.deepEqual(
          rows.map((r) => [r.source_text, r.context, r.translated_text]),
          [
            ['one', '', 'un'],
            ['three', '', 'trois'],
            ['two', '', 'deux (page b)'],
          ],
        )
        for (const r of rows) assert.ok(r.used_at instanceof Date)
      })
    })
  })

  describe(`localization QA3: requests (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate({ batchLimit: 50 }), {
      LIBRETRANSLATE_RETRIES: '0',
      LIBRETRANSLATE_BREAKER_THRESHOLD: '2',
      LIBRETRANSLATE_BREAKER_COOLDOWN_MS: '300',
    })

    it('refuses a language LibreTranslate lacks by name, without sending it a call per string', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const q = Array.from({ length: 100 }, (_, i) => `Line ${i} ${tag()}`)
      const calls = suite.upstream.calls
      for (const payload of [
        { q, source: 'en', target: 'zz' },
        { q, source: 'zz', target: 'fr' },
        { q, source: 'en', target: ['fr', 'de', 'zz', 'yy'] },
      ]) {
        const rest = await suite.translate(payload)
        assert.equal(rest.statusCode, 422, rest.body)
        assert.equal(json(rest).error.code, 'TRANSLATION_REJECTED')
        assert.match(json(rest).error.message, /zz is not supported/)
        const action = await suite.ctx.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: suite.auth,
          payload: { action: 'translate', data: payload },
        })
        assert.equal(action.statusCode, 422, action.body)
        assert.equal(json(action).error.code, 'TRANSLATION_REJECTED')
      }
      assert.equal(suite.upstream.calls, calls, 'nothing went upstream')
      // The circuit stayed closed: a known language still translates.
      const fine = await suite.translate({ q: `Hello ${tag()}`, source: 'en', target: 'fr' })
      assert.equal(fine.statusCode, 200, fine.body)
      assert.equal(json(fine).translations[0].provider, 'libretranslate')
    })

    it("answers a Traditional Chinese reader from the catalog's zh-Hant, not its Simplified zh", async () => {
      const slug = await createCampaign(suite.ctx.app)
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { title: { en: 'Sign up', zh: '注册', 'zh-Hant': '註冊' } },
      })
      assert.equal(put.statusCode, 200, put.body)
      const texts = async (target: string) => {
        const res = await suite.translate({ campaign_id: slug, q: 'Sign up', source: 'en', target })
        assert.equal(res.statusCode, 200, res.body)
        const [t] = json(res).translations
        return [t.provider, t.text]
      }
      assert.deepEqual(await texts('zh-TW'), ['catalog', '註冊'])
      assert.deepEqual(await texts('zh-Hant-HK'), ['catalog', '註冊'])
      assert.deepEqual(await texts('zh-CN'), ['catalog', '注册'])
      assert.deepEqual(await texts('zh_hans'), ['catalog', '注册'])
    })

    it('keeps one cache entry per target and shares it across contexts and tag spellings', async () => {
      const q = `Checkout ${tag()}`
      const first = await suite.translate({ q, source: 'en', target: ['fr', 'de'], context: { page: '/a' } })
      assert.equal(first.statusCode, 200, first.body)
      assert.deepEqual(
        json(first).translations.map((t: { text: string; provider: string }) => [t.provider, t.text]),
        [
          ['libretranslate', fakeTranslation(q, 'fr', 'text')],
          ['libretranslate', fakeTranslation(q, 'de', 'text')],
        ],
      )
      const strings = suite.upstream.strings
      const again = await suite.translate({
        q: [q, q],
        source: 'EN',
        target: ['de', 'FR_fr'],
        context: { page: '/b', description: 'other page' },
      })
      assert.equal(again.statusCode, 200, again.body)
      assert.deepEqual(
        json(again).translations.map((t: { target: string; text: string; provider: string }) => [
          t.target,
          t.provider,
          t.text,
        ]),
        [
          ['de', 'cache', fakeTranslation(q, 'de', 'text')],
          ['FR_fr', 'cache', fakeTranslation(q, 'fr', 'text')],
          ['de', 'cache', fakeTranslation(q, 'de', 'text')],
          ['FR_fr', 'cache', fakeTranslation(q, 'fr', 'text')],
        ],
      )
      assert.equal(suite.upstream.strings, strings)
    })

    it('reopens the circuit when the half-open trial fails, then closes it when one succeeds', async () => {
      suite.upstream.down = true
      try {
        for (let i = 0; i < 2; i++) {
          const res = await suite.translate({ q: `down ${tag()}`, source: 'en', target: 'fr' })
          assert.equal(res.statusCode, 503, res.body)
        }
        const open = await suite.translate({ q: `open ${tag()}`, source: 'en', target: 'fr' })
        assert.match(json(open).error.details.reason, /circuit is open/)
        // After the cooldown one trial goes upstream, fails, and the circuit opens again at once.
        let calls = 0
        await waitFor(async () => {
          calls = suite.upstream.calls
          const res = await suite.translate({ q: `trial ${tag()}`, source: 'en', target: 'fr' })
          return !/circuit is open/.test(json(res).error.details.reason)
        })
        assert.equal(suite.upstream.calls, calls + 1, 'one trial')
        const reopened = await suite.translate({ q: `reopened ${tag()}`, source: 'en', target: 'fr' })
        assert.equal(reopened.statusCode, 503)
        assert.match(json(reopened).error.details.reason, /circuit is open/)
        assert.equal(suite.upstream.calls, calls + 1, 'the reopened circuit calls nobody')
      } finally {
        suite.upstream.down = false
      }
      await waitFor(
        async () => (await suite.translate({ q: 'back', source: 'en', target: 'fr' })).statusCode === 200,
      )
    })
  })
}
