import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { APIKEY_REVOKED_CHANNEL } from '../src/platform/auth/apikeys.js'
import { startServerProcess } from './fixtures/server-process.js'
import { ADMIN_KEY, REDIS_URL } from './helper.js'
import { waitUntil } from './realtime/client.js'

/**
 * The bus's errors (a message that is no JSON, a handler that throws, the subscriber connection
 * failing) went to an `onBusError` the server never set: a node that stopped hearing revocations
 * or realtime messages said nothing. They are logged now, as warnings.
 */
describe('event bus errors in a running server', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('are logged, naming the bus', async () => {
    const prefix = `qa29bus${randomBytes(4).toString('hex')}`
    const server = await startServerProcess({ REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix })
    const redis = new Redis(REDIS_URL!)
    try {
      // An API key check subscribes the node to revocations.
      const res = await fetch(`${server.url}/api/campaign`, { headers: { 'x-api-key': ADMIN_KEY } })
      assert.equal(res.status, 200)
      const channel = `${prefix}:${APIKEY_REVOKED_CHANNEL}`
      await waitUntil(
        async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1] > 0,
        30_000,
        'the node subscribed to revocations',
      )
      await redis.publish(channel, 'this is no JSON {')
      await waitUntil(() => /event bus/i.test(server.output()), 30_000, 'a log line about the bus')
      assert.match(server.output(), /"level":40/, 'a warning')
    } finally {
      redis.disconnect()
      server.child.kill('SIGTERM')
      await server.exited
    }
  })
})
