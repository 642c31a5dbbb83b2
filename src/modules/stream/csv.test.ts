import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { csvField, csvObjects, parseCsv, toCsv } from './csv.js'

describe('csv', () => {
  it('parses quoted fields, escaped quotes, CRLF and embedded newlines', () => {
    assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",z\n'), [
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', 'z'],
    ])
    assert.deepEqual(csvObjects('Link,Status\nhttps://a.com,live\n\n'), [
      { link: 'https://a.com', status: 'live' },
    ])
  })

  it('imports an export unchanged, formula-like values included', () => {
    const values = ['=SUM(A1)', '+1', '-5', '@me', "'=quoted", "''=twice", "it's", "'plain", 'x']
    const text = toCsv(
      ['title'],
      values.map((title) => ({ title })),
    )
    // Neutralised on the way out: no cell begins with a formula character.
    for (const [cell] of parseCsv(text).slice(1)) assert.doesNotMatch(cell!, /^[=+\-@]/)
    assert.deepEqual(
      csvObjects(text).map((r) => r.title),
      values,
    )
  })

  it('round-trips and neutralises formulas', () => {
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`)
    const text = toCsv(['a', 'b'], [{ a: 'x,1', b: null }])
    assert.deepEqual(parseCsv(text), [
      ['a', 'b'],
      ['x,1', ''],
    ])
  })
})
