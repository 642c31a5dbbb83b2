import { type BusHandler, type EventBus, HandlerMap } from './bus.js'

/** In-process bus. Messages go through JSON like on Redis, so both adapters behave the same. */
export function createMemoryBus(onError: (err: unknown) => void = () => {}): EventBus {
  const handlers = new HandlerMap()
  return {
    kind: 'memory',
    async publish(channel, message) {
      // Nobody listening in this process (a REST caller's ack with no socket open): no copy to make.
      if (!handlers.has(channel)) return
      const copy = JSON.parse(JSON.stringify(message))
      queueMicrotask(() => handlers.deliver(channel, copy, onError))
    },
    async subscribe(channel: string, handler: BusHandler) {
      handlers.add(channel, handler)
      return async () => {
        handlers.remove(channel, handler)
      }
    },
    async close() {
      handlers.clear()
    },
  }
}
