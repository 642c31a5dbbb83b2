import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { pickLocale } from '../src/modules/localization/locale.js'
import { json } from './helper.js'
import { startEchoUpstream, translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

/**
 * A LibreTranslate listing Chinese as `chinese` names it (only one form of each script), and
 * refusing any code it does not list as LibreTranslate does (400 "… is not supported").
 */
const startChineseUpstream = (chinese: string[]) =>
  startEchoUpstream(['en', ...chinese], { listsLanguages: true })

describe('localization QA 28b: script and region forms of Chinese (unit)', () => {
  it('maps zh-Hant to zh-TW and zh-Hans to zh-CN, and back', () => {
    assert.equal(pickLocale('zh-Hant', ['zh', 'zh-TW']), 'zh-TW')
    assert.equal(pickLocale('zh_hans', ['zh-TW', 'zh-CN']), 'zh-CN')
    assert.equal(pickLocale('zh-TW', ['zh-Hans', 'zh-Hant']), 'zh-Hant')
    assert.equal(pickLocale('zh-CN', ['zh-Hans', 'zh-Hant']), 'zh-Hans')
    assert.equal(pickLocale('zh-Hans', ['zh-TW']), undefined, 'never another script')
  })
})

describe('localization QA 28b: zh-Hant/zh-Hans to an upstream listing zh-TW/zh-CN', () => {
  const suite = translationSuite('pglite', () => startChineseUpstream(['zh-TW', 'zh-CN']), {
    LIBRETRANSLATE_RETRIES: '0',
    LIBRETRANSLATE_BATCH_WINDOW_MS: '0',
  })

  it('sends zh-Hant as zh-TW and zh-Hans as zh-CN instead of refusing them', async () => {
    const q = `Welcome ${tag()}`
    const res = await suite.translate({ q, source: 'en', target: ['zh-Hant', 'zh_hans'] })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(
      json(res).translations.map((t: any) => [t.target, t.text]),
      [
        ['zh-Hant', `[zh-TW] ${q}`],
        ['zh_hans', `[zh-CN] ${q}`],
      ],
    )
    // As a source too.
    const back = await suite.translate({ q: `歡迎 ${tag()}`, source: 'zh-Hant', target: 'en' })
    assert.equal(back.statusCode, 200, back.body)
    assert.deepEqual(suite.upstream.pairs.at(-1), ['zh-TW', 'en'])
    assert.ok(!suite.upstream.pairs.flat().some((code) => /Han[st]/.test(code)), 'a script form was sent')
  })
})

describe('localization QA 28b: zh-TW/zh-CN to an upstream listing zh-Hant/zh-Hans', () => {
  const suite = translationSuite('pglite', () => startChineseUpstream(['zh-Hans', 'zh-Hant']), {
    LIBRETRANSLATE_RETRIES: '0',
    LIBRETRANSLATE_BATCH_WINDOW_MS: '0',
  })

  it('sends zh-TW as zh-Hant and zh-CN as zh-Hans', async () => {
    const q = `Welcome ${tag()}`
    const res = await suite.translate({ q, source: 'en', target: ['zh-TW', 'zh-CN'] })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(
      json(res).translations.map((t: any) => [t.target, t.text]),
      [
        ['zh-TW', `[zh-Hant] ${q}`],
        ['zh-CN', `[zh-Hans] ${q}`],
      ],
    )
  })
})
