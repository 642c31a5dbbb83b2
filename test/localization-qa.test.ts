import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { createBatcher } from '../src/modules/localization/batcher.js'
import { createBreaker } from '../src/modules/localization/breaker.js'
import {
  createLibreTranslateClient,
  UpstreamRejectedError,
} from '../src/modules/localization/libretranslate.client.js'
import { fakeTranslation, listenUpstream, startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, userToken } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

/**
 * A LibreTranslate stand-in that answers whatever the test sets: `answer` is the raw body of a
 * 200 to every call, or undefined for a real (fake) translation. Refuses, like LibreTranslate's
 * `"<lang> is not supported"`, any batch holding a string that contains "poison".
 */
async function startScriptedUpstream() {
  const state = {
    url: '',
    batches: [] as string[][],
    translateAnswer: undefined as string | undefined,
    /** POST /translate requests received, answered or not. */
    translateCalls: 0,
    languagesAnswer: undefined as string | undefined,
    close: async () => {},
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const ok = (body: string) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(body)
    }
    if (req.method === 'GET') {
      return ok(state.languagesAnswer ?? '[{"code":"en","name":"English","targets":["de"]}]')
    }
    state.translateCalls++
    if (state.translateAnswer !== undefined) return ok(state.translateAnswer)
    const { q, target, format } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    if (texts.some((t) => t.includes('poison'))) {
      res.writeHead(400, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ error: 'xx is not supported' }))
    }
    state.batches.push(texts)
    const out = texts.map((t) => fakeTranslation(t, target, format))
    ok(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

describe('localization QA: one caller refused does not fail the batch (client level)', () => {
  it('a string the upstream refuses fails alone; the strings batched with it are translated', async () => {
    const up = await startScriptedUpstream()
    try {
      const client = createLibreTranslateClient({
        url: up.url,
        timeoutMs: 20_000,
        retries: 0,
        breaker: createBreaker({ threshold: 5, cooldownMs: 60_000 }),
      })
      // A window nobody waits out: the batch goes when its second string arrives.
      const batcher = createBatcher({ client, windowMs: 60_000, limit: 2 })
      const fine = `fine ${tag()}`
      const [good, bad] = await Promise.allSettled([
        batcher.translate(fine, 'auto', 'de', 'text'),
        batcher.translate(`poison ${tag()}`, 'auto', 'de', 'text'),
      ])
      assert.equal(good.status, 'fulfilled', String((good as PromiseRejectedResult).reason))
      assert.equal(
        (good as PromiseFulfilledResult<{ text: string }>).value.text,
        fakeTranslation(fine, 'de', 'text'),
      )
      assert.equal(bad.status, 'rejected')
      assert.ok((bad as PromiseRejectedResult).reason instanceof UpstreamRejectedError)
    } finally {
      await up.close()
    }
  })
})

describe('localization QA: an upstream answering nonsense (client level)', () => {
  it('counts a 200 that is not a translation as a failure: the circuit opens', async () => {
    const up = await startScriptedUpstream()
    try {
      up.translateAnswer = 'null'
      const client = createLibreTranslateClient({
        url: up.url,
        timeoutMs: 20_000,
        retries: 0,
        breaker: createBreaker({ threshold: 2, cooldownMs: 60_000 }),
      })
      for (let i = 0; i < 2; i++) {
        await assert.rejects(client.translate(['hello'], 'en', 'de', 'text'), /not a translation/)
      }
      await assert.rejects(client.translate(['hello'], 'en', 'de', 'text'), /circuit is open/)
      assert.equal(up.translateCalls, 2, 'the open circuit asked the upstream nothing')
    } finally {
      await up.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`localization QA (${dialect})`, () => {
    // An instance run with `--batch-limit 2`, behind our default LIBRETRANSLATE_BATCH_LIMIT of 50.
    const suite = translationSuite(dialect, () => startFakeLibreTranslate({ batchLimit: 2 }), {
      LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
    })
    const { translate } = suite
    const putCatalog = (slug: string, headers: Record<string, string>, payload: Record<string, unknown>) =>
      suite.ctx.app.inject({ method: 'PUT', url: `/api/campaign/${slug}/catalog`, headers, payload })

    it('accepts locale tags in any case and with _ or region, as LibreTranslate codes, one cache entry', async () => {
      const text = `Good morning ${tag()}`
      const first = await translate({ q: text, source: 'EN', target: 'FR' })
      assert.equal(first.statusCode, 200, first.body)
      const [t] = json(first).translations
      assert.deepEqual(
        [t.provider, t.target, t.text],
        ['libretranslate', 'FR', fakeTranslation(text, 'fr', 'text')],
      )

      const strings = suite.upstream.strings
      for (const target of ['fr', 'fr_FR', 'fr-ca', 'Fr']) {
        const res = await translate({ q: text, source: 'en_US', target })
        assert.equal(res.statusCode, 200, `${target}: ${res.body}`)
        const [again] = json(res).translations
        assert.equal(again.target, target, 'the answer names the tag as the caller wrote it')
        assert.equal(again.text, t.text)
        assert.equal(again.provider, 'cache', `${target} is the same language as FR`)
      }
      assert.equal(
        suite.upstream.strings,
        strings,
        'one language is translated once, whatever its tag looks like',
      )

      const same = await translate({ q: text, source: 'en', target: 'EN_us' })
      assert.equal(same.statusCode, 200, same.body)
      assert.deepEqual(
        [json(same).translations[0].provider, json(same).translations[0].text],
        ['identity', text],
      )

      // A language the upstream does not have is still refused by name.
      const unknown = await translate({ q: text, source: 'en', target: 'zz' })
      assert.equal(unknown.statusCode, 422, unknown.body)
      assert.equal(json(unknown).error.code, 'TRANSLATION_REJECTED')
      assert.match(json(unknown).error.message, /zz is not supported/)
      const traversal = await translate({ q: text, source: 'en', target: '../' })
      assert.equal(traversal.statusCode, 400)
      assert.equal(json(traversal).error.code, 'VALIDATION_FAILED')
    })

    it('stores catalog locales in BCP 47 case and matches them whatever tag the caller uses', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const put = await putCatalog(slug, adminHeaders, {
        'cta.hi': { EN: 'Hi there', FR: 'Salut', pt_br: 'Oi' },
      })
      assert.equal(put.statusCode, 200, put.body)
      assert.deepEqual(json(put).locales, ['en', 'fr', 'pt-BR'])
      assert.deepEqual(json(put).entries, { 'cta.hi': { en: 'Hi there', fr: 'Salut', 'pt-BR': 'Oi' } })

      const strings = suite.upstream.strings
      const res = await translate({
        campaign_id: slug,
        q: 'Hi there',
        source: 'en-US',
        target: ['fr-FR', 'PT-br'],
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: any) => [t.target, t.provider, t.text]),
        [
          ['fr-FR', 'catalog', 'Salut'],
          ['PT-br', 'catalog', 'Oi'],
        ],
      )
      assert.equal(suite.upstream.strings, strings, 'the catalog answered; nothing went upstream')

      const twice = await putCatalog(slug, adminHeaders, { 'cta.hi': { fr: 'Salut', FR: 'Coucou' } })
      assert.equal(twice.statusCode, 422, twice.body)
      assert.equal(json(twice).error.code, 'DUPLICATE_LOCALE')
    })

    it('lets an editor replace the catalog; participants and guests get 403', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const issued = await suite.ctx.app.platform.tokens.issueUser({
        userId: `editor_${tag()}`,
        roles: ['editor'],
      })
      const editor = { authorization: `Bearer ${issued.token}` }
      const byEditor = await putCatalog(slug, editor, { greeting: { en: 'Hello', de: 'Hallo' } })
      assert.equal(byEditor.statusCode, 200, byEditor.body)
      assert.equal(json(byEditor).keys, 1)

      const participant = { authorization: `Bearer ${await userToken(suite.ctx.app, `p_${tag()}`)}` }
      for (const headers of [participant, suite.auth]) {
        const refused = await putCatalog(slug, headers, { greeting: { en: 'Pwned' } })
        assert.equal(refused.statusCode, 403, refused.body)
        assert.equal(json(refused).error.code, 'FORBIDDEN')
      }
      const read = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/catalog`,
        headers: suite.auth,
      })
      assert.deepEqual(json(read).entries, { greeting: { de: 'Hallo', en: 'Hello' } })
    })

    it('keeps ICU plural and select syntax intact: each option is translated as a whole sentence', async () => {
      const n = tag()
      const plural = `You have {count, plural, offset:1 =0 {no items} one {# item for {name}} other {# items}} ${n}`
      const select = `{gender, select, female {She} male {He} other {They}} liked it ${n}`
      const res = await translate({ q: [plural, select], source: 'en', target: 'de' })
      assert.equal(res.statusCode, 200, res.body)
      const [p, s] = json(res).translations
      const N = n.toUpperCase()
      assert.equal(p.provider, 'libretranslate')
      assert.equal(
        p.text,
        `{count, plural, offset:1 =0 {[de] YOU HAVE NO ITEMS ${N}} one {[de] YOU HAVE # ITEM FOR {name} ${N}} ` +
          `other {[de] YOU HAVE # ITEMS ${N}}}`,
      )
      assert.equal(
        s.text,
        `{gender, select, female {[de] SHE LIKED IT ${N}} male {[de] HE LIKED IT ${N}} other {[de] THEY LIKED IT ${N}}}`,
      )
      const again = await translate({ q: plural, source: 'en', target: 'de' })
      assert.deepEqual(
        [json(again).translations[0].provider, json(again).translations[0].text],
        ['cache', p.text],
      )
    })

    it('answers the source, uncached, when translation breaks an ICU message it cannot hoist', async () => {
      // Two plural arguments: sent as is, and the engine translates their keywords.
      const q = `{a, plural, one {# apple} other {# apples}} and {b, plural, one {# pear} other {# pears}} ${tag()}`
      for (let i = 0; i < 2; i++) {
        const res = await translate({ q, source: 'en', target: 'it' })
        assert.equal(res.statusCode, 200, res.body)
        const [t] = json(res).translations
        assert.deepEqual(
          [t.provider, t.text],
          ['identity', q],
          'a message that would not format is never answered',
        )
      }
    })

    it('splits a batch the upstream refuses for its size instead of failing the request', async () => {
      // Three strings of one request go in one batch; the instance takes at most two.
      const q = [`alpha ${tag()}`, `beta ${tag()}`, `gamma ${tag()}`]
      const res = await translate({ q, source: 'en', target: 'es' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: any) => t.text),
        q.map((s) => fakeTranslation(s, 'es', 'text')),
      )
    })

    it('counts a plural or select message once per option against the request caps', async () => {
      // 3,000 characters around a select of 200 options: one 5,000-character string that would go
      // upstream as 200 sentences of 3,000 characters, 600,000 characters for one field.
      const options = Array.from({ length: 200 }, (_, i) => `o${i} {}`).join(' ')
      const wide = `${'w'.repeat(1500)} {v, select, ${options}} ${'w'.repeat(1500)}`
      assert.ok(wide.length <= 5000)
      const strings = suite.upstream.strings
      const res = await translate({ q: wide, source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 422, res.body.slice(0, 300))
      assert.equal(json(res).error.code, 'TRANSLATION_TOO_LARGE')
      // Many short options: few characters, more strings than 100 strings in 10 languages.
      const many = `{v, select, ${Array.from({ length: 120 }, (_, i) => `o${i} {x}`).join(' ')}} ${tag()}`
      const refused = await translate({
        q: many,
        source: 'en',
        target: ['fr', 'de', 'es', 'it', 'pt', 'nl', 'sv', 'da', 'fi'],
      })
      assert.equal(refused.statusCode, 422, refused.body.slice(0, 300))
      assert.equal(json(refused).error.code, 'TRANSLATION_TOO_LARGE')
      assert.equal(suite.upstream.strings, strings, 'nothing went upstream')
      // Within the caps, a select still goes as whole sentences.
      const small = await translate({
        q: `{v, select, opt1 {Yes} other {No}} ${tag()}`,
        source: 'en',
        target: 'fr',
      })
      assert.equal(small.statusCode, 200, small.body)
      assert.equal(suite.upstream.strings, strings + 2)
    })

    it('sends a string repeated in one request upstream once', async () => {
      const text = `twice ${tag()}`
      const strings = suite.upstream.strings
      const res = await translate({ q: [text, text], source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: any) => [t.index, t.text]),
        [
          [0, fakeTranslation(text, 'fr', 'text')],
          [1, fakeTranslation(text, 'fr', 'text')],
        ],
      )
      assert.equal(suite.upstream.strings, strings + 1)
    })
  })

  describe(`localization QA: an upstream answering garbage (${dialect})`, () => {
    const suite = translationSuite(dialect, startScriptedUpstream, {
      LIBRETRANSLATE_RETRIES: '0',
      LIBRETRANSLATE_BREAKER_THRESHOLD: '1000',
    })

    it('answers 503 TRANSLATION_UNAVAILABLE (never 500) for 200s that are not translations', async () => {
      for (const answer of ['null', '[]', '{"translatedText":42}', '{"translatedText":["a","b"]}', '"ok"']) {
        suite.upstream.translateAnswer = answer
        const res = await suite.ctx.app.inject({
          method: 'POST',
          url: '/api/translate',
          headers: suite.auth,
          payload: { q: `garbage ${tag()}`, source: 'en', target: 'de' },
        })
        assert.equal(res.statusCode, 503, `${answer}: ${res.body}`)
        assert.equal(json(res).error.code, 'TRANSLATION_UNAVAILABLE')
        assert.match(json(res).error.details.reason, /not a translation/, answer)
      }
    })

    it('lists languages as down (never 500) when the language list is not a list', async () => {
      for (const answer of ['{"error":"maintenance"}', 'null', '[{"code":"en"},{"name":"broken"},7]']) {
        suite.upstream.languagesAnswer = answer
        // A fresh app: the list is cached for minutes once fetched.
        const fresh = await buildTestApp({
          dialect,
          env: { LIBRETRANSLATE_URL: suite.upstream.url, LIBRETRANSLATE_RETRIES: '0' },
        })
        try {
          const res = await fresh.app.inject({ method: 'GET', url: '/api/translate/languages' })
          assert.equal(res.statusCode, 200, `${answer}: ${res.body}`)
          const body = json(res)
          if (answer.startsWith('[')) {
            assert.equal(body.upstream, 'up')
            assert.deepEqual(body.languages, [{ code: 'en', name: 'en', targets: [] }])
          } else {
            assert.deepEqual([body.upstream, body.languages], ['down', []])
          }
        } finally {
          await fresh.close()
        }
      }
    })
  })
}
