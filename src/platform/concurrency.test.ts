import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backgroundWork } from './concurrency.js'

describe('backgroundWork', () => {
  it('has idle wait for everything started so far, and no longer', async () => {
    const work = backgroundWork()
    await work.idle()
    let release!: () => void
    let ended = false
    work.run(
      new Promise<void>((resolve) => {
        release = resolve
      }).then(() => {
        ended = true
      }),
    )
    let idle = false
    const waiting = work.idle().then(() => {
      idle = true
    })
    await new Promise((r) => setImmediate(r))
    assert.equal(idle, false, 'idle while the work runs')
    release()
    await waiting
    assert.equal(ended, true)
    // Work started after the wait began is not what that wait was for, and ended work is forgotten.
    await work.idle()
  })

  it('hands a failure to onError, and idle still resolves', async () => {
    const errors: unknown[] = []
    const work = backgroundWork((err) => errors.push(err))
    const boom = new Error('mail server gone')
    work.run(Promise.reject(boom))
    work.run(Promise.resolve())
    await work.idle()
    assert.deepEqual(errors, [boom])
  })
})
