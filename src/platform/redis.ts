import { Redis } from 'ioredis'

/** One shared command connection; adapters that need a blocking or subscriber connection duplicate it. */
/**
 * A command with no answer after this fails instead of waiting: a Redis (or a proxy before it) that
 * keeps the connection open but stops answering would otherwise hold every request that touches it
 * for good, since the connection never errors and the retry limit is never reached.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000

export async function createRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  })
  client.on('error', () => {}) // reconnects by itself; /health/ready reports the state
  await client.connect()
  return client
}
