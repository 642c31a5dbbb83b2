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
      if (handlers.add(channel, handler)) await subscriber.subscribe(channel)
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
