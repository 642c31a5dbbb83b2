import { Redis } from 'ioredis'
import { AppError } from './http/errors.js'
import { within } from './within.js'

/**
 * A command with no answer after this fails instead of waiting: a Redis (or a proxy before it) that
 * keeps the connection open but stops answering would otherwise hold every request that touches it
 * for good, since the connection never errors and the retry limit is never reached.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000

/**
 * How long shutdown waits for Redis: a PING before the shutdown steps that talk to it, and QUIT at
 * the end. A Redis that does not answer by then is let go (see `closeRedis`), or shutdown would
 * wait out the command timeout once per step (presence, announcements, each UNSUBSCRIBE).
 */
export const REDIS_CLOSE_TIMEOUT_MS = 1000

/**
 * How long a client that lost its connection keeps queueing commands for the reconnect (ioredis'
 * offline queue: a restart, a failover, a network blip). Past it, until the connection is back,
 * a command fails at once (see `failFastWhileDown`) instead of waiting out the command timeout.
 */
export const REDIS_OFFLINE_GRACE_MS = 1000

/** Clients let go of (`letGoOfRedis`): their offline queue stays off. */
const letGo = new WeakSet<Redis>()

/**
 * Commands to a Redis that is down fail at once, so an outage costs each request an error it
 * handles (a fallback, a 503) rather than the command timeout, for every request, for as long as
 * it lasts. For `graceMs` after the connection drops, commands still queue and go when it is back
 * (none is lost to a blip); past that, the offline queue is off until the client is `ready` again.
 * Returns `client`.
 */
export function failFastWhileDown(client: Redis, graceMs = REDIS_OFFLINE_GRACE_MS): Redis {
  let grace: NodeJS.Timeout | undefined
  // ioredis emits `close` once for the lost connection and again for each failed reconnect: the
  // grace runs from the first.
  client.on('close', () => {
    grace ??= setTimeout(() => {
      if (client.status !== 'ready') client.options.enableOfflineQueue = false
    }, graceMs).unref()
  })
  client.on('ready', () => {
    clearTimeout(grace)
    grace = undefined
    if (!letGo.has(client)) client.options.enableOfflineQueue = true
  })
  return client
}

/** Whether Redis answers a PING within `ms`; a client that is not connected does not. Never throws. */
export async function redisAnswers(client: Redis, ms = REDIS_CLOSE_TIMEOUT_MS): Promise<boolean> {
  if (client.status !== 'ready') return false
  return (
    (await within(
      client.ping().catch(() => undefined),
      ms,
    )) === 'PONG'
  )
}

/** QUIT, bounded: a Redis that does not answer within `ms` is let go of instead (`letGoOfRedis`). */
export async function closeRedis(client: Redis, ms = REDIS_CLOSE_TIMEOUT_MS): Promise<void> {
  if (client.status === 'end') return
  if (
    client.status !== 'ready' ||
    (await within(
      client.quit().catch(() => undefined),
      ms,
    )) !== 'OK'
  )
    letGoOfRedis(client)
}

/**
 * Stops using `client` at once: no reconnecting, and every command from now on fails instead of
 * waiting in the offline queue for the command timeout. (`disconnect()` alone leaves a client that
 * is between two reconnect attempts `reconnecting` for good, queueing each command until then.)
 */
export function letGoOfRedis(client: Redis): void {
  letGo.add(client)
  client.options.enableOfflineQueue = false
  client.disconnect()
}

/**
 * Redis could not be reached: at start (the process cannot serve as configured), or by a request
 * that must not complete without it (an erasure of the realtime replay history), which the caller
 * may retry.
 */
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

/**
 * What this deployment puts before every Redis key and bus channel: `REDIS_PREFIX:`, or nothing
 * (the names of older nodes). Keys get it from ioredis (`keyPrefix`); the rest reads it here.
 */
export function namePrefix(client: Redis): string {
  return client.options.keyPrefix ?? ''
}

export interface RedisClientOptions {
  /** `REDIS_PREFIX`: deployments sharing one Redis server each see only their own names. */
  prefix?: string
}

/**
 * One shared command connection; adapters that need a blocking or subscriber connection duplicate
 * it (with its prefix). ioredis prefixes the keys of commands and of scripts' KEYS, but not
 * channels, SCAN/KEYS patterns or the names they return, nor names a script builds or takes as
 * ARGV: whatever handles those adds `namePrefix(client)` itself.
 */
export async function createRedis(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    ...(options.prefix ? { keyPrefix: `${options.prefix}:` } : {}),
  })
  failFastWhileDown(client)
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
