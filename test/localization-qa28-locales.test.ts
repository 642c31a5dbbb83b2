import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

for (const dialect of DIALECTS) {
  describe(`localization QA 28: a catalog's regional variant of the source language (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate(), {
      LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
    })

    it('answers en → en-GB from the catalog, and untouched where it has no entry', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const color = `Color ${tag()}`
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: { color: { en: color, 'en-GB': color.replace('Color', 'Colour') } },
      })
      assert.equal(put.statusCode, 200, put.body)
      const calls = suite.upstream.calls
      const other = `Center ${tag()}`

      const res = await suite.translate({
        campaign_id: slug,
        q: [color, other],
        source: 'en',
        target: ['en_gb', 'en-US'],
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: any) => [t.index, t.target, t.provider, t.text]),
        [
          // The editors' British spelling, not the source's.
          [0, 'en_gb', 'catalog', color.replace('Color', 'Colour')],
          [0, 'en-US', 'catalog', color],
          // Nothing for it in the catalog: the same language needs nobody.
          [1, 'en_gb', 'identity', other],
          [1, 'en-US', 'identity', other],
        ],
      )
      assert.equal(suite.upstream.calls, calls, 'nothing goes upstream for the same language')

      // By key, through the action on a socket's REST twin.
      const byKey = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: {
          action: 'localization.translate',
          data: { q: color, source: 'en', target: 'en-GB', context: { key: 'color' } },
        },
      })
      assert.equal(byKey.statusCode, 200, byKey.body)
      const [t] = json(byKey).result.translations
      assert.deepEqual([t.provider, t.text], ['catalog', color.replace('Color', 'Colour')])
    })
  })
}
