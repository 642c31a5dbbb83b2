import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { OvasabiError } from './errors.js'

describe('OvasabiError.unavailable', () => {
  test('a translation service with no provider is unavailable, not a failure to show', () => {
    const err = OvasabiError.fromBody(503, {
      error: { code: 'TRANSLATION_UNAVAILABLE', message: 'No translation provider could answer' },
    })
    assert.equal(err.code, 'TRANSLATION_UNAVAILABLE')
    assert.equal(err.unavailable, true)
  })

  test('other 503s and validation errors are not', () => {
    assert.equal(
      OvasabiError.fromBody(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'x' } }).unavailable,
      false,
    )
    assert.equal(
      OvasabiError.fromBody(400, { error: { code: 'VALIDATION_FAILED', message: 'x' } }).unavailable,
      false,
    )
    assert.equal(
      OvasabiError.fromBody(403, { error: { code: 'FEATURE_DISABLED', message: 'x' } }).unavailable,
      true,
    )
  })
})
