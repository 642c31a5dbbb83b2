import type { Redis } from 'ioredis'
import { failFastWhileDown, letGoOfRedis, namePrefix } from '../redis.js'
import { type BusHandler, type EventBus, HandlerMap } from './bus.js'

/**
 * Redis pub/sub bus. A node receives its own publications through Redis too, so every message
 * reaches each subscriber exactly once whichever node published it.
 *
 * Channels carry the client's `REDIS_PREFIX` (see `namePrefix`): pub/sub channels are global to
 * a Redis server, whatever its database number, so without it two deployments sharing one Redis
 * would deliver each other's messages. Handlers see the logical names, without the prefix.
 */
export function createRedisBus(
  client: Redis,
  onError: (err: unknown) => void = () => {},
): EventBus & { letGo(): void; listening(): Promise<void>; subscriberStatus(): string } {
  const publisher = client
  const subscriber = failFastWhileDown(client.duplicate())
  const prefix = namePrefix(client)
  const handlers = new HandlerMap()
  /** A channel's SUBSCRIBE in flight: a second handler on the channel waits for it too. */
  const subscribing = new Map<string, Promise<unknown>>()
  subscriber.on('message', (channel: string, raw: string) => {
    let message: unknown
    try {
      message = JSON.parse(raw)
    } catch (err) {
      onError(err)
      return
    }
    // Only subscribed channels arrive, all prefixed; the check is a guard, not a filter.
    if (!channel.startsWith(prefix)) return
    handlers.deliver(channel.slice(prefix.length), message, onError)
  })
  subscriber.on('error', onError)
  return {
    kind: 'redis',
    async publish(channel, message) {
      await publisher.publish(prefix + channel, JSON.stringify(message))
    },
    async subscribe(channel: string, handler: BusHandler) {
      if (handlers.add(channel, handler)) {
        const sent = subscriber.subscribe(prefix + channel)
        subscribing.set(channel, sent)
        sent.then(
          () => subscribing.delete(channel),
          () => subscribing.delete(channel),
        )
      }
      try {
        await subscribing.get(channel)
      } catch (err) {
        // Not subscribed: the handler goes, so the channel's next subscribe sends SUBSCRIBE again
        // instead of finding a handler there and trusting a subscription Redis never made.
        handlers.remove(channel, handler)
        throw err
      }
      return async () => {
        if (!handlers.remove(channel, handler) || subscriber.status !== 'ready') return
        // Best effort: this node no longer delivers the channel (its handlers are gone), and a
        // subscription Redis did not drop goes with the connection. Callers unsubscribing at
        // shutdown need not handle a Redis that stopped answering.
        await subscriber.unsubscribe(prefix + channel).catch(onError)
      }
    },
    /**
     * Resolves when the subscriber connection is up and answers (a PING, queued after the
     * SUBSCRIBEs ioredis sends again on reconnecting, so an answer means the subscriptions are back);
     * throws saying why not. Every event this node hears, its own included, comes over it.
     */
    async listening() {
      if (subscriber.status !== 'ready') throw new Error(`subscriber not connected (${subscriber.status})`)
      await subscriber.ping()
    },
    /** The subscriber connection's ioredis status (`ready`, `reconnecting`, …). */
    subscriberStatus: () => subscriber.status,
    /**
     * Shutdown found Redis not answering (see `Platform.releaseUnresponsiveRedis`): publishing and
     * unsubscribing fail at once from now on instead of each waiting out the command timeout.
     */
    letGo() {
      letGoOfRedis(publisher)
      letGoOfRedis(subscriber)
    },
    async close() {
      handlers.clear()
      letGoOfRedis(subscriber)
    },
  }
}
