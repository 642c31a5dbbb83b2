import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hasLoneSurrogateEscape } from '../json.js'
import { jsonDepth } from './json-parser.js'

describe('jsonDepth', () => {
  it('counts nesting of objects and arrays', () => {
    assert.equal(jsonDepth('1', 10), 0)
    assert.equal(jsonDepth('{"a":[1,{"b":2}]}', 10), 3)
  })
  it('ignores brackets inside strings, including escaped quotes', () => {
    assert.equal(jsonDepth('{"a":"[[[{{{\\"]]]"}', 10), 1)
  })
  it('stops counting past the limit', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000)
    assert.equal(jsonDepth(deep, 32), 33)
  })
})

describe('hasLoneSurrogateEscape', () => {
  const check = (text: string) => hasLoneSurrogateEscape(text, JSON.parse(text))
  it('finds half a pair in a value, a key or an array, high or low', () => {
    assert.equal(check('{"a":"x\\ud800"}'), true)
    assert.equal(check('{"a":[1,{"b":"\\udfff"}]}'), true)
    assert.equal(check('{"k\\udc00":1}'), true)
    assert.equal(check('"\\ude80\\ud83d"'), true, 'a pair in the wrong order is two halves')
  })
  it('accepts whole pairs and text that only looks like an escape', () => {
    assert.equal(check('{"a":"\\ud83d\\ude80"}'), false)
    assert.equal(check('{"a":"\\\\ud800"}'), false, 'an escaped backslash, then "ud800"')
    assert.equal(check('{"a":"plain"}'), false)
  })
})
