import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { createBreaker, MAX_HOLD_MS } from '../src/modules/localization/breaker.js'
import { createLibreTranslateClient } from '../src/modules/localization/libretranslate.client.js'
import { listenUpstream } from './fixtures/libretranslate.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

/**
 * A LibreTranslate stand-in that behaves as the real one does where the shared fake does not: it
 * strips each string before translating it and answers without the whitespace around it
 * (`improve_translation_formatting` starts with `source.strip()`), as `[target] UPPER`. A string
 * holding "blank" is answered with an empty translation, as a broken proxy or engine may.
 */
async function startStrippingUpstream() {
  const state = {
    url: '',
    /** The `q` of each POST /translate. */
    batches: [] as string[][],
    close: async () => {},
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    res.writeHead(200, { 'content-type': 'application/json' })
    if (req.method === 'GET') {
      return res.end(
        JSON.stringify([
          { code: 'en', name: 'English', targets: ['de', 'fr'] },
          { code: 'de', name: 'German', targets: ['en', 'fr'] },
          { code: 'fr', name: 'French', targets: ['en', 'de'] },
        ]),
      )
    }
    const { q, target } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    state.batches.push(texts)
    const out = texts.map((t) =>
      t.includes('blank') ? '' : `[${target}] ${t.trim().replace(/\p{L}+/gu, (w) => w.toUpperCase())}`,
    )
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

for (const dialect of DIALECTS) {
  describe(`localization QA 24: what the upstream does to a page's strings (${dialect})`, () => {
    const suite = translationSuite(dialect, startStrippingUpstream, { LIBRETRANSLATE_BATCH_WINDOW_MS: '5' })
    const { translate } = suite
    const sent = () => suite.upstream.batches.flat()

    it("keeps the whitespace around a page's text nodes, which LibreTranslate strips", async () => {
      const word = `join${tag()}`
      // Text nodes as a page has them: "Click <a>here</a> to join", an indented paragraph.
      const q = ['Click ', ' here', ` to ${word}`, `\n    ${word} now\n  `, `${word} now`]
      const res = await translate({ q, source: 'en', target: 'de' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: { text: string }) => t.text),
        [
          '[de] CLICK ',
          ' [de] HERE',
          ` [de] TO ${word.toUpperCase()}`,
          `\n    [de] ${word.toUpperCase()} NOW\n  `,
          `[de] ${word.toUpperCase()} NOW`,
        ],
      )
      // The same words with and without the whitespace around them are paid for once.
      assert.equal(sent().filter((t) => t.includes(`${word} now`)).length, 1, JSON.stringify(sent()))
      // And the cache answers each with its own whitespace.
      const again = await translate({ q: [`\n    ${word} now\n  `, 'Click '], source: 'en', target: 'de' })
      assert.deepEqual(
        json(again).translations.map((t: { text: string; provider: string }) => [t.provider, t.text]),
        [
          ['cache', `\n    [de] ${word.toUpperCase()} NOW\n  `],
          ['cache', '[de] CLICK '],
        ],
      )
    })

    it('never caches an empty translation of a non-empty string: the source answers, uncached', async () => {
      const text = `blank ${tag()}`
      const res = await translate({ q: [text], source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        [json(res).translations[0].provider, json(res).translations[0].text],
        ['identity', text],
      )
      const rows = await suite.ctx.app.platform.database.db
        .selectFrom('service_localization_translation')
        .select('translated_text')
        .where('source_text', '=', text)
        .execute()
      assert.deepEqual(rows, [], 'nothing cached for an empty answer')
      // Asked again, the upstream is asked again (it may have recovered), not a remembered blank.
      const before = sent().filter((t) => t === text).length
      const again = await translate({ q: [text], source: 'en', target: 'fr' })
      assert.equal(json(again).translations[0].provider, 'identity')
      assert.equal(sent().filter((t) => t === text).length, before + 1)
    })

    it('one text in NFC and NFD is one cache entry, and a catalog entry answers either form', async () => {
      const word = `caf${tag()}`
      const nfc = `${word}\u00e9 ouvert`
      const nfd = `${word}e\u0301 ouvert`
      assert.notEqual(nfc, nfd)
      const first = await translate({ q: [nfc], source: 'fr', target: 'de' })
      assert.equal(first.statusCode, 200, first.body)
      const second = await translate({ q: [nfd], source: 'fr', target: 'de' })
      assert.equal(second.statusCode, 200, second.body)
      assert.equal(json(second).translations[0].provider, 'cache')
      assert.equal(json(second).translations[0].text, json(first).translations[0].text)
      assert.equal(sent().filter((t) => t.normalize('NFC') === nfc).length, 1, 'paid for once')

      // The editor typed the catalog in NFC; the page's DOM holds the text decomposed.
      const slug = await createCampaign(suite.ctx.app)
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { 'cta.cafe': { fr: 'Café ouvert', de: 'Café geöffnet' } },
      })
      assert.equal(put.statusCode, 200, put.body)
      const byText = await translate({
        campaign_id: slug,
        q: ['Cafe\u0301 ouvert'],
        source: 'fr',
        target: 'de',
      })
      assert.equal(byText.statusCode, 200, byText.body)
      assert.deepEqual(
        [json(byText).translations[0].provider, json(byText).translations[0].text],
        ['catalog', 'Café geöffnet'],
      )
    })

    it("does not show a draft campaign's catalog to anyone but its editors", async () => {
      const slug = await createCampaign(suite.ctx.app, { draft: true })
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { 'launch.title': { en: 'Unannounced product', de: 'Unangekündigtes Produkt' } },
      })
      assert.equal(put.statusCode, 200, put.body)
      const asGuest = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/catalog`,
        headers: suite.auth,
      })
      const unknown = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}x/catalog`,
        headers: suite.auth,
      })
      assert.equal(unknown.statusCode, 404)
      assert.equal(asGuest.statusCode, 404, asGuest.body)
      assert.equal(json(asGuest).error.code, 'CAMPAIGN_NOT_FOUND')
      assert.doesNotMatch(asGuest.body, /Unannounced/)
      const languages = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/translate/languages?campaign_id=${slug}`,
      })
      assert.equal(languages.statusCode, 404, languages.body)
      assert.equal(json(languages).error.code, 'CAMPAIGN_NOT_FOUND')
      const asEditor = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
      })
      assert.equal(asEditor.statusCode, 200, asEditor.body)
      assert.equal(json(asEditor).entries['launch.title'].en, 'Unannounced product')
    })
  })
}

/** An upstream over its rate limit for two minutes: every translation is 429 `Retry-After: 120`. */
async function startSlowdownUpstream() {
  const state = { url: '', translateCalls: 0, close: async () => {} }
  const server = createServer(async (req, res) => {
    for await (const _ of req) {
      // drained
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify([{ code: 'en', name: 'English', targets: ['de'] }]))
    }
    state.translateCalls++
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '120' })
    res.end(JSON.stringify({ error: 'Slowdown: 1 per 2 minute' }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

for (const dialect of DIALECTS) {
  describe(`localization QA 24: an upstream that asks to be left alone (${dialect})`, () => {
    const suite = translationSuite(dialect, startSlowdownUpstream)

    it("asks nobody's translation of it before its Retry-After, and tells clients when to come back", async () => {
      const first = await suite.translate({ q: `first ${tag()}`, source: 'en', target: 'de' })
      assert.equal(first.statusCode, 503, first.body)
      assert.equal(json(first).error.code, 'TRANSLATION_UNAVAILABLE')
      const header = Number(first.headers['retry-after'])
      assert.ok(header > 60 && header <= 120, `retry-after: ${first.headers['retry-after']}`)
      assert.equal(
        suite.upstream.translateCalls,
        1,
        'a Retry-After longer than a request waits is not retried',
      )

      // Another reader's string, another path (the action, as a socket sends it): not sent upstream.
      const slug = await createCampaign(suite.ctx.app)
      const second = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'translate', data: { q: `second ${tag()}`, source: 'en', target: 'de' } },
      })
      assert.equal(second.statusCode, 503, second.body)
      const details = json(second).error.details
      assert.ok(details.retry_after_ms > 60_000 && details.retry_after_ms <= 120_000, second.body)
      assert.ok(Number(second.headers['retry-after']) > 60, `retry-after: ${second.headers['retry-after']}`)
      assert.equal(suite.upstream.translateCalls, 1, 'the upstream was left alone')
      // Health reports the hold as the open circuit it is (its language list still answers).
      const health = await suite.ctx.app.inject({ method: 'GET', url: '/health' })
      assert.equal(json(health).dependencies.translation.status, 'down', health.body)
    })
  })
}

/** An upstream that translates, but whose language list names nothing (`[]`, or another API's shape). */
async function startListlessUpstream(list: string) {
  const state = { url: '', translateCalls: 0, close: async () => {} }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    res.writeHead(200, { 'content-type': 'application/json' })
    if (req.method === 'GET') return res.end(list)
    state.translateCalls++
    const { q, target } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const out = (Array.isArray(q) ? q : [q]).map((t: string) => `[${target}] ${t}`)
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

for (const list of ['[]', '[{"language":"de","name":"German"}]']) {
  describe(`localization QA 24: a language list naming no language (${list})`, () => {
    const suite = translationSuite('pglite', () => startListlessUpstream(list))

    it('is no list: the upstream judges the languages, nothing is refused by name', async () => {
      const res = await suite.translate({ q: `hello ${tag()}`, source: 'en', target: 'de' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).translations[0].provider, 'libretranslate')
      assert.equal(suite.upstream.translateCalls, 1)
      const languages = await suite.ctx.app.inject({ method: 'GET', url: '/api/translate/languages' })
      assert.equal(json(languages).upstream, 'down', languages.body)
    })
  })
}

describe('localization QA 24: a Retry-After hold on the circuit (unit)', () => {
  it('holds the circuit open for the time asked, at most MAX_HOLD_MS, never shortening it', () => {
    let now = 0
    const breaker = createBreaker({ threshold: 5, cooldownMs: 1000, now: () => now })
    breaker.holdOpen(30_000)
    assert.equal(breaker.state(), 'open')
    assert.equal(breaker.retryAfterMs(), 30_000)
    // A failure meanwhile reopens for the cooldown only from now: the longer hold stands.
    breaker.failure()
    assert.equal(breaker.retryAfterMs(), 30_000)
    now = 29_999
    assert.equal(breaker.allow(), false)
    now = 30_000
    assert.equal(breaker.allow(), true, 'the trial after the hold')
    // A proxy asking for a day is asked again after MAX_HOLD_MS.
    breaker.holdOpen(86_400_000)
    assert.equal(breaker.retryAfterMs(), MAX_HOLD_MS)
    now += MAX_HOLD_MS
    assert.equal(breaker.state(), 'half_open')
    assert.equal(breaker.retryAfterMs(), undefined)
  })
})

describe('localization QA 24: calls queued behind a dead upstream (client level)', () => {
  it('once the circuit opens, the calls waiting for a slot fail at once instead of asking it in turn', async () => {
    let received = 0
    // Takes every translation and never answers: each call ends at its timeout.
    const server = createServer((req) => {
      if (req.method === 'POST') received++
    })
    const up = await listenUpstream(server)
    try {
      const client = createLibreTranslateClient({
        url: up.url,
        timeoutMs: 300,
        retries: 0,
        maxConcurrent: 1,
        breaker: createBreaker({ threshold: 1, cooldownMs: 60_000 }),
      })
      const calls = await Promise.allSettled(
        [1, 2, 3, 4].map((i) => client.translate([`string ${i}`], 'en', 'de', 'text')),
      )
      const reasons = calls.map((c) => String((c as PromiseRejectedResult).reason?.message))
      assert.ok(
        calls.every((c) => c.status === 'rejected'),
        'nothing answered',
      )
      assert.match(reasons[0] as string, /unreachable/)
      for (const reason of reasons.slice(1)) assert.match(reason, /circuit is open/)
      assert.equal(received, 1, 'only the call that opened the circuit reached the upstream')
    } finally {
      await up.close()
    }
  })
})
