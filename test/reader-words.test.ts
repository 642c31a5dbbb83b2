// A mail's or notification's words: arguments filled in after translation, and English, whole, when translation fails.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fillIn, type ReaderTranslator, readerWords } from '../src/modules/localization/reader-words.js'

const ENGLISH = { subject: 'Hello {name}', body: 'Your address is {email}.' }

describe('mail words', () => {
  it('fills in arguments once, leaving unknown names and inherited ones as written', () => {
    assert.equal(
      fillIn('{email} and {email}: { email }', { email: 'a{email}b@example.org' }),
      'a{email}b@example.org and a{email}b@example.org: a{email}b@example.org',
    )
    assert.equal(fillIn('{constructor} {toString} {missing}', {}), '{constructor} {toString} {missing}')
    assert.equal(fillIn('for {hours} hours', { hours: 24 }), 'for 24 hours')
  })

  it('asks the translator with keys under the prefix, in the reader locale, for the campaign', async () => {
    const asked: unknown[] = []
    const translate: ReaderTranslator = async (english, locale, campaign) => {
      asked.push({ english, locale, campaign })
      return Object.fromEntries(Object.entries(english).map(([k, v]) => [k, `${locale}: ${v}`]))
    }
    const words = await readerWords(
      ENGLISH,
      { name: 'Ada', email: 'ada@example.org' },
      { locale: 'de', translate, prefix: 'mail.test', campaign: 'launch' },
    )
    assert.deepEqual(words, { subject: 'de: Hello Ada', body: 'de: Your address is ada@example.org.' })
    assert.deepEqual(asked, [
      {
        english: { 'mail.test.subject': 'Hello {name}', 'mail.test.body': 'Your address is {email}.' },
        locale: 'de',
        campaign: 'launch',
      },
    ])
  })

  it('is English, whole, without a locale, without a translator, or when translating fails', async () => {
    const values = { name: 'Ada', email: 'ada@example.org' }
    const english = { subject: 'Hello Ada', body: 'Your address is ada@example.org.' }
    let calls = 0
    const counting: ReaderTranslator = async (e) => {
      calls++
      return e
    }
    assert.deepEqual(
      await readerWords(ENGLISH, values, { locale: null, translate: counting, prefix: 'm' }),
      english,
    )
    assert.equal(calls, 0)
    assert.deepEqual(
      await readerWords(ENGLISH, values, { locale: 'fr', translate: undefined, prefix: 'm' }),
      english,
    )

    const errors: unknown[] = []
    const failing: ReaderTranslator = async () => {
      throw new Error('upstream down')
    }
    const words = await readerWords(
      ENGLISH,
      values,
      { locale: 'fr', translate: failing, prefix: 'm' },
      (err) => errors.push(err),
    )
    assert.deepEqual(words, english)
    assert.equal(errors.length, 1)
  })
})
