import { Redis } from 'ioredis'
import { AppError } from './http/errors.js'

/**
 * A command with no answer after this fails instead of waiting: a Redis (or a proxy before it) that
 * keeps the connection open but stops answering would otherwise hold every request that touches it
 * for good, since the connection never errors and the retry limit is never reached.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000

/** Redis could not be reached at start: the process cannot serve as configured. */
export class RedisUnavailableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(503, 'REDIS_UNAVAILABLE', message, { headers: { 'retry-after': '5' }, cause })
  }
}

/** `redis://user:secret@cache:6379/0` as `cache:6379`: never the credentials. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 6379}`
  } catch {
    return 'the configured address'
  }
}

/** One shared command connection; adapters that need a blocking or subscriber connection duplicate it. */
export async function createRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  })
  // The last error says why a connection failed: ioredis rejects `connect()` only with "Connection
  // is closed", which names neither Redis nor the reason.
  let lastError: Error | undefined
  client.on('error', (err: Error) => {
    lastError = err // reconnects by itself; /health/ready reports the state
  })
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    const reason = (lastError ?? (err as Error)).message
    throw new RedisUnavailableError(
      `Cannot connect to Redis at ${describeUrl(url)} (REDIS_URL): ${reason}`,
      err,
    )
  }
  return client
}
