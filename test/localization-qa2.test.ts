import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import pg from 'pg'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { createCampaign, DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

for (const dialect of DIALECTS) {
  describe(`translation context (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate({ batchLimit: 50 }), {
      LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
    })
    const { translate } = suite

    it('pays for a string once whatever page, key or description it is shown with', async () => {
      const q = `Sign up today ${tag()}`
      const before = suite.upstream.strings
      const first = await translate({ q, source: 'en', target: 'fr', context: { page: '/home' } })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(json(first).translations[0].provider, 'libretranslate')

      const contexts = [
        undefined,
        { page: '/pricing' },
        { page: '/pricing', key: 'cta.signup', description: 'Button under the price table' },
        { description: 'Footer link', locale: 'fr' },
      ]
      for (const context of contexts) {
        const res = await translate({ q, source: 'en', target: 'fr', ...(context ? { context } : {}) })
        assert.equal(res.statusCode, 200, res.body)
        const [t] = json(res).translations
        assert.deepEqual(
          [t.provider, t.text],
          ['cache', json(first).translations[0].text],
          JSON.stringify(context),
        )
      }
      assert.equal(
        suite.upstream.strings,
        before + 1,
        'LibreTranslate saw the string once: it is never sent a context',
      )

      // The action path shares the same cache.
      const slug = await createCampaign(suite.ctx.app)
      const action = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'translate', data: { q, source: 'en', target: 'fr', context: { page: slug } } },
      })
      assert.equal(action.statusCode, 200, action.body)
      assert.equal(json(action).result.translations[0].provider, 'cache')
      assert.equal(suite.upstream.strings, before + 1)
    })

    it('translates into context.locale, the reader locale, when target is absent', async () => {
      const q = `Welcome back ${tag()}`
      const res = await translate({ q, source: 'en', context: { locale: 'de', page: '/home' } })
      assert.equal(res.statusCode, 200, res.body)
      const [t] = json(res).translations
      assert.deepEqual([t.target, t.provider, t.text], ['de', 'libretranslate', `[de] ${q.toUpperCase()}`])

      // Case and separator as for target: `DE_de` is German, answered from the cache.
      const again = await translate({ q, source: 'en', context: { locale: 'DE_de' } })
      assert.equal(again.statusCode, 200, again.body)
      assert.deepEqual(
        [json(again).translations[0].target, json(again).translations[0].provider],
        ['DE_de', 'cache'],
      )

      // A named target wins over the reader's locale.
      const named = await translate({ q, source: 'en', target: 'it', context: { locale: 'de' } })
      assert.equal(named.statusCode, 200, named.body)
      assert.equal(json(named).translations[0].text, `[it] ${q.toUpperCase()}`)

      // The same on the action path.
      const slug = await createCampaign(suite.ctx.app)
      const action = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'translate', data: { q, source: 'en', context: { locale: 'es' } } },
      })
      assert.equal(action.statusCode, 200, action.body)
      assert.equal(json(action).result.translations[0].text, `[es] ${q.toUpperCase()}`)
    })

    it('refuses a request with neither target nor context.locale with 400, sending nothing', async () => {
      const before = suite.upstream.calls
      for (const payload of [{ q: 'Hello' }, { q: 'Hello', context: { page: '/home' } }]) {
        const res = await translate(payload)
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.match(json(res).error.message, /target/)
      }
      const slug = await createCampaign(suite.ctx.app)
      const action = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'translate', data: { q: 'Hello', context: { key: 'greeting' } } },
      })
      assert.equal(action.statusCode, 400, action.body)
      assert.equal(json(action).error.code, 'VALIDATION_FAILED')
      assert.equal(suite.upstream.calls, before)
    })

    if (dialect === 'postgres') {
      it('still answers from rows cached under a context before the fix', async () => {
        const q = `Old entry ${tag()}`
        const client = new pg.Client({ connectionString: suite.ctx.databaseUrl })
        await client.connect()
        try {
          await client.query(
            `INSERT INTO service_localization_translation
               (text_hash, source, target, format, context, source_text, translated_text, provider)
             VALUES ($1, 'en', 'fr', 'text', $2, $3, 'Ancienne entrée', 'libretranslate')`,
            [createHash('sha256').update(q).digest('hex'), JSON.stringify(['/old', null, null]), q],
          )
        } finally {
          await client.end()
        }
        const before = suite.upstream.strings
        const res = await translate({ q, source: 'en', target: 'fr' })
        assert.equal(res.statusCode, 200, res.body)
        assert.deepEqual(
          [json(res).translations[0].provider, json(res).translations[0].text],
          ['cache', 'Ancienne entrée'],
        )
        assert.equal(suite.upstream.strings, before)
      })
    }
  })
}
