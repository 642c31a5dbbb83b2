import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
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
