import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hasNulEscape, parseUntrustedJson } from './json.js'

describe('hasNulEscape', () => {
  it('finds a NUL escape, and only a real one', () => {
    assert.equal(hasNulEscape('{"a":"x\\u0000y"}'), true)
    assert.equal(hasNulEscape('{"a":"x\\\\\\u0000"}'), true, 'an escaped backslash, then a NUL')
    assert.equal(hasNulEscape('{"a":"x\\\\u0000"}'), false, 'a backslash followed by the text u0000')
    assert.equal(hasNulEscape('{"a":"\\u00001"}'), true)
    assert.equal(hasNulEscape('{"a":"\\u0001"}'), false)
    assert.equal(hasNulEscape('{"a":1}'), false)
  })

  it('makes parseUntrustedJson refuse the text (WebSocket and ActionCable frames)', () => {
    assert.throws(() => parseUntrustedJson('{"a":"\\u0000"}'), SyntaxError)
    assert.deepEqual(parseUntrustedJson('{"a":"\\\\u0000"}'), { a: '\\u0000' })
  })
})

describe('parseUntrustedJson and half surrogate pairs', () => {
  it('refuses a lone surrogate in a value or a key, and keeps a real pair (WebSocket and ActionCable frames)', () => {
    assert.throws(
      () => parseUntrustedJson('{"type":"campaign_event","payload":{"t":"a\\ud800b"}}'),
      SyntaxError,
    )
    assert.throws(() => parseUntrustedJson('{"k\\udc00":1}'), SyntaxError)
    assert.deepEqual(parseUntrustedJson('{"a":"\\ud83d\\ude00"}'), { a: '😀' })
  })
})
