import type { Redis } from 'ioredis'
import { type BusHandler, type EventBus, HandlerMap } from './bus.js'

/**
 * Redis pub/sub bus. A node receives its own publications through Redis too, so every message
 * reaches each subscriber exactly once whichever node published it.
 */
export function createRedisBus(client: Redis, onError: (err: unknown) => void = () => {}): EventBus {
  const publisher = client
  const subscriber = client.duplicate()
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
    handlers.deliver(channel, message, onError)
  })
  subscriber.on('error', onError)
  return {
    kind: 'redis',
    async publish(channel, message) {
      await publisher.publish(channel, JSON.stringify(message))
    },
    async subscribe(channel: string, handler: BusHandler) {
      if (handlers.add(channel, handler)) {
        const sent = subscriber.subscribe(channel)
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
        if (handlers.remove(channel, handler) && subscriber.status === 'ready')
          await subscriber.unsubscribe(channel)
      }
    },
    async close() {
      handlers.clear()
      subscriber.disconnect()
    },
  }
}
