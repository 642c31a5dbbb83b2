import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { pickLocale } from '../src/modules/localization/locale.js'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

describe('localization QA 28b: a bare language served by a regional entry (unit)', () => {
  it('serves `fr` by the likely region, else the only one, else the first by tag', () => {
    assert.equal(pickLocale('fr', ['de', 'fr-FR']), 'fr-FR')
    assert.equal(pickLocale('fr', ['fr-CA']), 'fr-CA', 'the only French there is')
    assert.equal(pickLocale('fr', ['fr-CA', 'fr-FR', 'fr-BE']), 'fr-FR', 'fr is likely fr-FR')
    assert.equal(pickLocale('en', ['en-GB', 'en-US']), 'en-US', 'en is likely en-US')
    assert.equal(
      pickLocale('fr', ['fr-CA', 'fr-BE']),
      'fr-BE',
      'none likely: the first by tag, whatever order',
    )
    assert.equal(pickLocale('fr', ['fr-BE', 'fr-CA']), 'fr-BE')
    assert.equal(pickLocale('FR', ['fr-ch']), 'fr-ch', 'as the catalog names it')
    // A plain entry still wins, and the other way round is unchanged.
    assert.equal(pickLocale('fr', ['fr-FR', 'fr']), 'fr')
    assert.equal(pickLocale('fr-CA', ['fr', 'fr-FR']), 'fr')
    // A regional tag is not served by another region, nor a language by another script.
    assert.equal(pickLocale('fr-CA', ['fr-FR']), undefined)
    assert.equal(pickLocale('zh', ['zh-TW']), undefined, 'Traditional does not serve zh (Simplified)')
    assert.equal(pickLocale('zh', ['zh-TW', 'zh-SG']), 'zh-SG')
    assert.equal(pickLocale('sr', ['sr-Latn-RS']), undefined, 'sr alone is Cyrillic')
    assert.equal(pickLocale('zh-Hant', ['zh', 'zh-HK']), 'zh-HK')
  })
})

for (const dialect of DIALECTS) {
  describe(`localization QA 28b: a catalog holding regional entries only (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate(), {
      LIBRETRANSLATE_BATCH_WINDOW_MS: '5',
    })

    it('serves `fr` from `fr-FR`, matches `source: en` against `en-US`, and `fr-CA` from `fr`', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const hello = `Hello ${tag()}`
      const bye = `Bye ${tag()}`
      const put = await suite.ctx.app.inject({
        method: 'PUT',
        url: `/api/campaign/${slug}/catalog`,
        headers: adminHeaders,
        payload: {
          hello: { 'en-US': hello, 'fr-FR': `Bonjour ${hello}` },
          bye: { en: bye, fr: `Au revoir ${bye}` },
        },
      })
      assert.equal(put.statusCode, 200, put.body)
      const calls = suite.upstream.calls

      const res = await suite.translate({
        campaign_id: slug,
        q: [hello, bye],
        source: 'en',
        target: ['fr', 'fr-CA'],
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        json(res).translations.map((t: any) => [t.index, t.target, t.provider, t.text]),
        [
          // `source: en` finds the text stored under en-US; `fr` is served by the only French, fr-FR.
          [0, 'fr', 'catalog', `Bonjour ${hello}`],
          // A regional reader is never served by another region: machine translation into French.
          [0, 'fr-CA', 'libretranslate', `[fr] ${hello.toUpperCase()}`],
          [1, 'fr', 'catalog', `Au revoir ${bye}`],
          // RFC 4647 lookup: fr-CA falls back to fr.
          [1, 'fr-CA', 'catalog', `Au revoir ${bye}`],
        ],
      )
      assert.equal(suite.upstream.calls, calls + 1, 'only hello → fr-CA went upstream')

      // By key, on the action's REST twin, with the reader's locale as the target.
      const byKey = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: {
          action: 'localization.translate',
          data: { q: 'anything', source: 'de', context: { key: 'hello', locale: 'FR' } },
        },
      })
      assert.equal(byKey.statusCode, 200, byKey.body)
      const [t] = json(byKey).result.translations
      assert.deepEqual([t.provider, t.text], ['catalog', `Bonjour ${hello}`])

      // An `en` reader gets the en-US wording (any source: the text is the key's).
      const en = await suite.translate({ campaign_id: slug, q: hello, source: 'auto', target: 'en' })
      assert.deepEqual(
        json(en).translations.map((x: any) => [x.provider, x.text]),
        [['catalog', hello]],
      )
    })
  })
}
