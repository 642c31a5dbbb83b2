import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { registerErrorHandler } from '../src/platform/http/error-handler.js'
import { createRedis } from '../src/platform/redis.js'
import { REDIS_URL } from './helper.js'
import { appWithLogCapture } from './log-capture.js'

const EMAIL = 'ada.lovelace@example.org'

/**
 * ioredis hangs the failed command on its error (`command: { name, args }`), and on each queued
 * command's error of an aborted transaction (`previousErrors`): its keys and values, such as a
 * lead published to the admins or written to the replay history. Redis answers with such errors
 * after a failover (READONLY), at its memory limit (OOM) or on a key of another type.
 */
describe('Redis errors in the log', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('name the command, never its arguments', async () => {
    const redis = await createRedis(REDIS_URL!)
    const key = `qa29g:log:${randomBytes(4).toString('hex')}`
    const { app, lines } = appWithLogCapture()
    registerErrorHandler(app)
    app.get('/wrong-type', async () => {
      await redis.lpush(key, JSON.stringify({ lead: { email: EMAIL } }))
    })
    app.get('/script', async () => {
      await redis.eval("return redis.error_reply('refused')", 0, EMAIL)
    })
    app.get('/transaction', async () => {
      // Refused as queued (wrong arity, as OOM is at the memory limit): EXECABORT.
      await redis.multi().set(key, EMAIL).call('get', key, EMAIL).exec()
    })
    try {
      await redis.set(key, 'a string, not a list')
      for (const url of ['/wrong-type', '/script', '/transaction']) {
        const res = await app.inject({ method: 'GET', url })
        assert.equal(res.statusCode, 500, res.body)
      }
    } finally {
      await app.close()
      await redis.del(key)
      await redis.quit()
    }
    const errors = lines.filter((l) => l.level === 50)
    assert.equal(errors.length, 3, JSON.stringify(lines))
    const log = JSON.stringify(lines)
    assert.ok(!log.includes(EMAIL) && !log.includes('ada.lovelace'), `the address is in the log: ${log}`)
    const [wrongType, script, transaction] = errors.map((l) => l.err)
    // What the operator needs stays: the reply and the command it answered.
    assert.match(wrongType.message, /WRONGTYPE/)
    assert.equal(wrongType.command.name, 'lpush')
    assert.equal(script.command.name, 'eval')
    assert.match(transaction.message, /EXECABORT/)
    assert.equal(transaction.previousErrors.length, 1, JSON.stringify(transaction))
    assert.equal(transaction.previousErrors[0].command.name, 'get')
  })
})
