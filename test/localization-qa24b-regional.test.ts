import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { json } from './helper.js'
import { startEchoUpstream, translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

/**
 * A LibreTranslate whose language list cannot be had (`GET /languages` answers 500) while
 * `/translate` works. Like most instances it has no `pt-BR` model: it knows the codes below and
 * refuses any other as LibreTranslate does (400 `{"error": "pt-BR is not supported"}`).
 */
const startListlessUpstream = () =>
  startEchoUpstream(['en', 'de', 'pt', 'zh', 'zh-Hant'], { listsLanguages: false })

describe('localization QA 24b: regional tags while the language list is unknown', () => {
  const suite = translationSuite('pglite', startListlessUpstream, {
    LIBRETRANSLATE_RETRIES: '0',
    LIBRETRANSLATE_BATCH_WINDOW_MS: '0',
  })

  it('sends a regional tag as its language, in its script, rather than have it refused', async () => {
    const q = `Welcome ${tag()}`
    const br = await suite.translate({ q, source: 'en-US', target: 'pt-BR' })
    assert.equal(br.statusCode, 200, br.body)
    const [t] = json(br).translations
    // The answer names the tag as sent; the upstream was asked for Portuguese.
    assert.equal(t.target, 'pt-BR')
    assert.equal(t.text, `[pt] ${q}`)
    assert.deepEqual(suite.upstream.pairs.at(-1), ['en', 'pt'])
    assert.ok(!suite.upstream.pairs.some(([, target]) => target === 'pt-BR'), 'pt-BR was sent as written')

    // Cached as Portuguese: a `pt` reader is answered from it.
    const pt = await suite.translate({ q, source: 'en', target: 'pt' })
    assert.equal(json(pt).translations[0].provider, 'cache', pt.body)

    // Never in another script: Traditional Chinese goes as `zh-Hant`, not as (Simplified) `zh`.
    const tw = await suite.translate({ q, source: 'en', target: 'zh-TW' })
    assert.equal(tw.statusCode, 200, tw.body)
    assert.equal(json(tw).translations[0].text, `[zh-Hant] ${q}`)
    assert.deepEqual(suite.upstream.pairs.at(-1), ['en', 'zh-Hant'])
  })
})
