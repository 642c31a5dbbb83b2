import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { translationSuite } from './localization-fixtures.js'
import { waitFor } from './wait-for.js'

const tag = () => randomBytes(3).toString('hex')

for (const dialect of DIALECTS) {
  describe(`localization (${dialect})`, () => {
    const suite = translationSuite(
      dialect,
      () => startFakeLibreTranslate({ apiKey: 'lt-key', batchLimit: 50 }),
      {
        LIBRETRANSLATE_API_KEY: 'lt-key',
        LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
      },
    )
    const { translate } = suite

    it('translates through LibreTranslate once, then answers from the cache', async () => {
      const text = `Hello {name}, welcome ${tag()}`
      const before = suite.upstream.strings
      const first = await translate({ q: text, source: 'en', target: 'es' })
      assert.equal(first.statusCode, 200, first.body)
      const [t] = json(first).translations
      assert.equal(t.provider, 'libretranslate')
      // The fake upper-cases {name} like an engine mangling it; the service puts it back.
      assert.equal(t.text, `[es] HELLO {name}, WELCOME ${text.split(' ').pop()!.toUpperCase()}`)
      assert.equal(suite.upstream.strings, before + 1)

      const second = await translate({ q: text, source: 'en', target: 'es' })
      assert.equal(json(second).translations[0].provider, 'cache')
      assert.equal(json(second).translations[0].text, t.text)
      assert.equal(suite.upstream.strings, before + 1, 'a cached string is not paid for twice')

      // LibreTranslate takes no context: another page is the same cache entry.
      const third = await translate({ q: text, source: 'en', target: 'es', context: { page: '/pricing' } })
      assert.equal(json(third).translations[0].provider, 'cache')
    })

    it('keeps HTML tags and attributes with format html', async () => {
      const html = `<p class="lead">Hello <b>world</b> ${tag()}</p>`
      const res = await translate({ q: html, source: 'en', target: 'fr', format: 'html' })
      assert.equal(res.statusCode, 200, res.body)
      const out = json(res).translations[0].text as string
      assert.match(out, /^<p class="lead">HELLO <b>WORLD<\/b> [0-9A-F]{6}<\/p>$/)
    })

    it('answers several strings and targets in order, with auto-detected source', async () => {
      const q = [`one ${tag()}`, `two ${tag()}`]
      const res = await translate({ q, target: ['de', 'it'] })
      assert.equal(res.statusCode, 200, res.body)
      const list = json(res).translations
      assert.deepEqual(
        list.map((t: any) => [t.index, t.target, t.source, t.detected_source]),
        [
          [0, 'de', 'auto', 'en'],
          [0, 'it', 'auto', 'en'],
          [1, 'de', 'auto', 'en'],
          [1, 'it', 'auto', 'en'],
        ],
      )
      assert.equal(list[3].text, `[it] ${q[1]!.toUpperCase()}`)
    })

    it('lists languages from the upstream', async () => {
      const res = await suite.ctx.app.inject({ method: 'GET', url: '/api/translate/languages' })
      assert.equal(res.statusCode, 200)
      assert.equal(json(res).upstream, 'up')
      assert.ok(json(res).languages.some((l: any) => l.code === 'en' && l.targets.includes('fr')))
    })

    it('maps an upstream 400 (unsupported language) to 422 TRANSLATION_REJECTED', async () => {
      const res = await translate({ q: `x ${tag()}`, source: 'en', target: 'xx' })
      assert.equal(res.statusCode, 422, res.body)
      assert.equal(json(res).error.code, 'TRANSLATION_REJECTED')
    })

    it('refuses bad input with 400', async () => {
      const res = await translate({ q: 42, target: 'fr' })
      assert.equal(res.statusCode, 400)
      const many = await translate({ q: Array.from({ length: 101 }, (_, i) => `s${i}`), target: 'fr' })
      assert.equal(many.statusCode, 400)
      const anon = await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/translate',
        payload: { q: 'a', target: 'fr' },
      })
      assert.equal(anon.statusCode, 401)
      // Within every per-field limit, but 5 million characters upstream all told: refused, unsent.
      const sentBefore = suite.upstream.strings
      const huge = await translate({
        q: Array.from({ length: 100 }, (_, i) => `${i} ${'x'.repeat(4990)}`),
        target: ['fr', 'de', 'es', 'it', 'pt', 'nl', 'sv', 'da', 'fi', 'pl'],
      })
      assert.equal(huge.statusCode, 422, huge.body.slice(0, 300))
      assert.equal(json(huge).error.code, 'TRANSLATION_TOO_LARGE')
      assert.equal(suite.upstream.strings, sentBefore)
    })

    it('retries 429 (honouring Retry-After) and 500, then succeeds', async () => {
      const calls = suite.upstream.calls
      suite.upstream.failNext(1, 429, 0)
      suite.upstream.failNext(1, 500)
      const res = await translate({ q: `retry me ${tag()}`, source: 'en', target: 'es' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).translations[0].provider, 'libretranslate')
      assert.equal(suite.upstream.calls, calls + 3)
    })

    it('answers from the campaign catalog by key and by text, ICU placeholders intact', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const catalog = {
        greeting: { en: 'Hello {name}!', fr: 'Bonjour {name} !' },
        'cta.join': { en: 'Join now', fr: 'Rejoignez-nous', de: 'Jetzt mitmachen' },
      }
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: catalog,
      })
      assert.equal(put.statusCode, 200, put.body)
      assert.equal(json(put).keys, 2)
      assert.deepEqual(json(put).locales, ['de', 'en', 'fr'])

      const read = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/catalog`,
        headers: suite.auth,
      })
      assert.deepEqual(json(read).entries, catalog)

      // Through the action (alias), by key: fr from the catalog, es from LibreTranslate.
      const byKey = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: {
          action: 'translate',
          data: { q: 'Hello {name}!', source: 'en', target: ['fr', 'es'], context: { key: 'greeting' } },
        },
      })
      assert.equal(byKey.statusCode, 200, byKey.body)
      const [fr, es] = json(byKey).result.translations
      assert.deepEqual([fr.provider, fr.text], ['catalog', 'Bonjour {name} !'])
      assert.deepEqual([es.provider, es.text], ['libretranslate', '[es] HELLO {name}!'])

      // Through REST with campaign_id, by source text, no key.
      const byText = await translate({ campaign_id: slug, q: ['Join now'], source: 'en', target: 'de' })
      assert.equal(byText.statusCode, 200, byText.body)
      assert.deepEqual(
        [json(byText).translations[0].provider, json(byText).translations[0].text],
        ['catalog', 'Jetzt mitmachen'],
      )
    })

    it('refuses catalogs whose locales use different placeholders, and non-admins', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const bad = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { greeting: { en: 'Hello {name}', fr: 'Bonjour {nom}' } },
      })
      assert.equal(bad.statusCode, 422, bad.body)
      assert.equal(json(bad).error.code, 'PLACEHOLDER_MISMATCH')
      const guest = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: suite.auth,
        payload: { greeting: { en: 'Hi' } },
      })
      assert.equal(guest.statusCode, 403)
      const missing = await suite.ctx.app.inject({
        method: 'PUT',
        url: '/api/campaign/no_such_campaign_x/catalog',
        headers: adminHeaders,
        payload: { greeting: { en: 'Hi' } },
      })
      assert.equal(missing.statusCode, 404)
    })

    it('refuses the action when the campaign has no translation feature', async () => {
      const slug = await createCampaign(suite.ctx.app, { features: ['analytics'] })
      const res = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'localization.translate', data: { q: 'Hi', target: 'fr' } },
      })
      assert.equal(res.statusCode, 403)
      assert.equal(json(res).error.code, 'FEATURE_DISABLED')
      const rest = await translate({ campaign_id: slug, q: 'Hi', target: 'fr' })
      assert.equal(json(rest).error.code, 'FEATURE_DISABLED')
    })

    it('batches 1000 concurrent requests for 50 distinct strings into at most 50 upstream strings', async () => {
      const run = tag()
      const distinct = Array.from({ length: 50 }, (_, i) => `batch ${run} string ${i}`)
      const before = { strings: suite.upstream.strings, calls: suite.upstream.calls }
      const started = performance.now()
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          translate({ q: distinct[i % 50], source: 'en', target: 'de' }),
        ),
      )
      const elapsed = performance.now() - started
      for (const [i, res] of responses.entries()) {
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).translations[0].text, `[de] ${distinct[i % 50]!.toUpperCase()}`)
      }
      const upstreamStrings = suite.upstream.strings - before.strings
      assert.ok(upstreamStrings <= 50, `upstream translated ${upstreamStrings} strings`)
      console.log(
        `# batching (${dialect}): 1000 requests, 50 distinct → ${upstreamStrings} upstream strings in ` +
          `${suite.upstream.calls - before.calls} calls, ${Math.round(elapsed)} ms`,
      )
    })
  })

  describe(`localization failure modes (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate(), {
      LIBRETRANSLATE_RETRIES: '1',
      LIBRETRANSLATE_TIMEOUT_MS: '300',
      LIBRETRANSLATE_BREAKER_THRESHOLD: '3',
      LIBRETRANSLATE_BREAKER_COOLDOWN_MS: '500',
    })
    /** An app with no translation upstream configured. */
    let none: TestContext
    before(async () => {
      none = await buildTestApp({ dialect })
    })
    after(() => none.close())

    const health = async (app: TestContext) =>
      json(await app.app.inject({ method: 'GET', url: '/health' })).dependencies.translation

    it('answers 503 TRANSLATION_UNAVAILABLE with the source as fallback, opens the breaker, then recovers', async () => {
      assert.equal((await health(suite.ctx)).status, 'up')
      suite.upstream.down = true
      const q = ['Buy now', `Sale ${tag()}`]
      const res = await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/translate',
        headers: suite.auth,
        payload: { q, source: 'en', target: 'fr' },
      })
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(json(res).error.code, 'TRANSLATION_UNAVAILABLE')
      assert.deepEqual(json(res).error.details.fallback, q)

      // Two attempts per call (one retry): the threshold of 3 is reached on the second call.
      await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/translate',
        headers: suite.auth,
        payload: { q: `again ${tag()}`, source: 'en', target: 'fr' },
      })
      assert.equal((await health(suite.ctx)).status, 'down')
      const calls = suite.upstream.calls
      const fast = await suite.ctx.app.inject({
        method: 'POST',
        url: '/api/translate',
        headers: suite.auth,
        payload: { q: `open ${tag()}`, source: 'en', target: 'fr' },
      })
      assert.equal(fast.statusCode, 503)
      assert.match(json(fast).error.details.reason, /circuit is open/)
      assert.equal(suite.upstream.calls, calls, 'an open circuit does not call the upstream')

      suite.upstream.down = false
      await waitFor(async () => {
        const r = await suite.ctx.app.inject({
          method: 'POST',
          url: '/api/translate',
          headers: suite.auth,
          payload: { q: 'recovered', source: 'en', target: 'fr' },
        })
        return r.statusCode === 200
      })
      await waitFor(async () => (await health(suite.ctx)).status === 'up')
    })

    it('times out a slow upstream instead of stalling', async () => {
      await waitFor(async () => (await health(suite.ctx)).status === 'up')
      suite.upstream.delayMs = 2000
      try {
        const started = performance.now()
        const res = await suite.ctx.app.inject({
          method: 'POST',
          url: '/api/translate',
          headers: suite.auth,
          payload: { q: `slow ${tag()}`, source: 'en', target: 'it' },
        })
        assert.equal(res.statusCode, 503, res.body)
        assert.match(json(res).error.details.reason, /unreachable|circuit/)
        assert.ok(performance.now() - started < 2000, 'answered before the upstream did')
      } finally {
        suite.upstream.delayMs = 0
      }
    })

    it('without LIBRETRANSLATE_URL: catalog still answers, the rest is 503, health says disabled', async () => {
      assert.equal((await health(none)).status, 'disabled')
      const slug = await createCampaign(none.app)
      await none.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { hi: { en: 'Hi', es: 'Hola' } },
      })
      const token = (await guestToken(none.app)).token
      const ok = await none.app.inject({
        method: 'POST',
        url: '/api/translate',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign_id: slug, q: 'Hi', source: 'en', target: 'es' },
      })
      assert.equal(json(ok).translations[0].text, 'Hola')
      const res = await none.app.inject({
        method: 'POST',
        url: '/api/translate',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign_id: slug, q: 'Unknown words', source: 'en', target: 'es' },
      })
      assert.equal(res.statusCode, 503)
      assert.equal(json(res).error.details.fallback, 'Unknown words')
      const langs = await none.app.inject({
        method: 'GET',
        url: `/api/translate/languages?campaign_id=${slug}`,
      })
      assert.deepEqual(json(langs), { upstream: 'disabled', languages: [], catalog_locales: ['en', 'es'] })
    })
  })
}
