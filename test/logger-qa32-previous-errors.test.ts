// An aborted Redis transaction's error lists the errors of its commands in `previousErrors`, and
// ioredis can list the same error object there again (or one that lists it back). The logger's
// error serializer walked them without remembering where it had been and recursed until the stack
// ran out: logging a Redis failure turned the request into a 500 "Maximum call stack size
// exceeded" instead of its own error. Each error is now written once on a path.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loggerOptions } from '../src/platform/observability/logger.js'

const serializeErr = () => {
  const options = loggerOptions('info') as unknown as {
    serializers: { err: (e: Error) => Record<string, unknown> }
  }
  return options.serializers.err
}

describe('logger: errors that list themselves', () => {
  it('writes an error whose previousErrors contain itself, once', () => {
    const err = Object.assign(new Error('EXECABORT Transaction discarded'), {
      previousErrors: [] as Error[],
    })
    const timedOut = new Error('Command timed out')
    err.previousErrors.push(err, timedOut)
    const out = serializeErr()(err)
    assert.equal(out.message, 'EXECABORT Transaction discarded')
    const previous = out.previousErrors as unknown[]
    assert.equal(previous.length, 2)
    assert.equal(previous[0], '[redacted]')
    assert.equal((previous[1] as { message: string }).message, 'Command timed out')
  })

  it('writes two errors that list each other', () => {
    const a = Object.assign(new Error('a'), { previousErrors: [] as Error[] })
    const b = Object.assign(new Error('b'), { previousErrors: [a] })
    a.previousErrors.push(b)
    const out = serializeErr()(a)
    const inner = (out.previousErrors as Array<Record<string, unknown>>)[0]!
    assert.equal(inner.message, 'b')
    assert.deepEqual(inner.previousErrors, ['[redacted]'])
  })
})
