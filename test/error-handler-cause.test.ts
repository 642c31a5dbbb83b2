import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { registerErrorHandler } from '../src/platform/http/error-handler.js'
import { AppError } from '../src/platform/http/errors.js'
import { appWithLogCapture } from './log-capture.js'

/** An app with the error handler, its log lines parsed. */
function appWithLog() {
  const { app, lines } = appWithLogCapture()
  registerErrorHandler(app)
  return { app, lines }
}

describe('error handler: a 503 tells the operator what the dependency said', () => {
  it('logs the cause of a 503 (name and message, no stack) and keeps it out of the answer', async () => {
    const { app, lines } = appWithLog()
    const bucket = Object.assign(new Error('We encountered an internal error. Please try again.'), {
      name: 'InternalError',
    })
    app.put('/upload', async () => {
      throw new AppError(503, 'STORAGE_UNAVAILABLE', 'The file could not be stored; try again later', {
        cause: bucket,
      })
    })
    app.get('/plain', async () => {
      throw new AppError(503, 'TRANSLATION_DISABLED', 'Translation is not configured')
    })
    try {
      const res = await app.inject({ method: 'PUT', url: '/upload' })
      assert.equal(res.statusCode, 503)
      assert.ok(!res.body.includes('internal error'), 'the bucket is not named to the client')
      assert.equal((await app.inject({ url: '/plain' })).statusCode, 503)
    } finally {
      await app.close()
    }
    const warned = lines.filter((l) => l.level === 40)
    assert.equal(warned.length, 2, JSON.stringify(lines))
    assert.equal(warned[0]!.code, 'STORAGE_UNAVAILABLE')
    assert.equal(warned[0]!.cause, 'InternalError: We encountered an internal error. Please try again.')
    assert.ok(!JSON.stringify(warned[0]).includes('    at '), 'no stack')
    assert.equal(warned[1]!.code, 'TRANSLATION_DISABLED')
    assert.equal('cause' in warned[1]!, false)
  })
})
