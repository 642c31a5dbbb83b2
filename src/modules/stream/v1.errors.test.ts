import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ServiceUnavailableError, UnauthorizedError } from '../../platform/http/errors.js'
import { forbidden, isCredentialRefusal, unauthorized } from './v1.errors.js'

describe('isCredentialRefusal', () => {
  it('is an answer about the credential (401), not a failure to get one', () => {
    assert.equal(isCredentialRefusal(unauthorized()), true)
    assert.equal(isCredentialRefusal(new UnauthorizedError()), true)
    assert.equal(isCredentialRefusal(forbidden()), false)
    assert.equal(isCredentialRefusal(new ServiceUnavailableError('down')), false)
    // A driver's error (the database unreachable) is no refusal, whatever it carries.
    assert.equal(
      isCredentialRefusal(Object.assign(new Error('connection terminated'), { code: '57P01' })),
      false,
    )
    assert.equal(isCredentialRefusal({ statusCode: 401 }), false)
    assert.equal(isCredentialRefusal(undefined), false)
  })
})
