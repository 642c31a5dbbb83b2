// A Redis that went away: commands fail at once rather than each waiting out the command timeout,
// after a grace in which they still queue for the reconnect; once it is back, they queue again.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createRedis, failFastWhileDown } from '../src/platform/redis.js'
import { REDIS_URL, uniqueSlug } from './helper.js'
import { redisProxy } from './redis-proxy.js'
import { waitFor } from './wait-for.js'

const REFUSED = /enableOfflineQueue/

describe('a Redis that went away', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  const cleanup: Array<() => unknown> = []
  after(async () => {
    for (const step of cleanup.reverse()) await step()
  })

  it('is refused at once after the grace, and queued for again once the client is back', async () => {
    const proxy = await redisProxy(REDIS_URL as string)
    cleanup.push(() => proxy.cut())
    const client = await createRedis(proxy.url, { prefix: uniqueSlug('failfast') })
    cleanup.push(() => client.disconnect())
    await client.set('k', 'v')

    proxy.cut()
    await waitFor(() => client.status !== 'ready', 'the client to see the connection go')
    // Within the grace a command waits in the offline queue (then times out, Redis being gone);
    // past it, one is refused without being queued at all.
    const error = await waitFor(
      () =>
        client.get('k').then(
          () => undefined,
          (err: Error) => REFUSED.test(err.message) && err,
        ),
      'a command refused without waiting',
    )
    assert.match(error.message, REFUSED)

    await proxy.restore()
    await waitFor(() => client.status === 'ready', 'the client to reconnect')
    assert.equal(await client.get('k'), 'v')
    assert.equal(client.options.enableOfflineQueue, true, 'queueing again for the next blip')
  })

  it('keeps a command sent within the grace and sends it once Redis is back', async () => {
    const proxy = await redisProxy(REDIS_URL as string)
    cleanup.push(() => proxy.cut())
    const prefix = `${uniqueSlug('failfast')}:`
    const client = failFastWhileDown(new Redis(proxy.url, { keyPrefix: prefix }), 600_000)
    cleanup.push(() => client.disconnect())
    await client.set('k', 'v')

    proxy.cut()
    await waitFor(() => client.status === 'reconnecting', 'the client to try again')
    const sent = client.get('k')
    await proxy.restore()
    assert.equal(await sent, 'v')
  })
})
