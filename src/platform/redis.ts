import { Redis } from 'ioredis'

/** One shared command connection; adapters that need a blocking or subscriber connection duplicate it. */
export async function createRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true })
  client.on('error', () => {}) // reconnects by itself; /health/ready reports the state
  await client.connect()
  return client
}
