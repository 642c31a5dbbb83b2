import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newUlid } from './ids.js'

test('ids made in one millisecond sort in the order they were made', () => {
  const ids = Array.from({ length: 5000 }, () => newUlid())
  const sameMs = ids.filter((id, i) => i > 0 && id.slice(0, 10) === ids[i - 1]!.slice(0, 10))
  assert.ok(sameMs.length > 0, 'the loop should make several ids within one millisecond')
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} should sort before ${ids[i]}`)
  }
})

test('an id never sorts before an earlier one when the clock steps back', (t) => {
  const first = newUlid()
  t.mock.method(Date, 'now', () => 1_000)
  const later = newUlid()
  assert.ok(first < later)
  assert.equal(later.slice(0, 10), first.slice(0, 10))
})

test('ids are 26 Crockford base-32 characters', () => {
  assert.match(newUlid(), /^[0-9A-HJKMNP-TV-Z]{26}$/)
})
