import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

for (const dialect of DIALECTS) {
  describe(`localization QA 28: a short Retry-After that outlasted the retries (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate(), {
      LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
      LIBRETRANSLATE_RETRIES: '1',
    })

    it('passes the upstream Retry-After on in the 503', async () => {
      const calls = suite.upstream.calls
      // Every attempt is told to slow down for a second.
      suite.upstream.failNext(2, 429, 1)
      const q = `slow down ${tag()}`
      const res = await suite.translate({ q, source: 'en', target: 'es' })
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(suite.upstream.calls, calls + 2, 'asked again once, after the wait it named')
      const { error } = json(res)
      assert.equal(error.code, 'TRANSLATION_UNAVAILABLE')
      assert.equal(error.details.fallback, q)
      // When to come back, as the upstream said, rather than nothing (and an immediate retry).
      assert.equal(res.headers['retry-after'], '1')
      assert.equal(error.details.retry_after_ms, 1000)

      // The upstream over its limit is not down: the next ask is answered.
      const next = await suite.translate({ q, source: 'en', target: 'es' })
      assert.equal(next.statusCode, 200, next.body)
    })
  })
}
