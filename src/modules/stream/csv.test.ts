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

  it('round-trips and neutralises formulas', () => {
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`)
    const text = toCsv(['a', 'b'], [{ a: 'x,1', b: null }])
    assert.deepEqual(parseCsv(text), [
      ['a', 'b'],
      ['x,1', ''],
    ])
  })
})
