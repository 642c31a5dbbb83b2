/** A message handler; it receives the decoded JSON value that was published. */
export type BusHandler = (message: unknown) => void

/**
 * Publish/subscribe between the parts of one process (memory) or all nodes (redis).
 * A message published on any node reaches every subscriber of its channel once, on every node.
 */
export interface EventBus {
  readonly kind: 'memory' | 'redis'
  publish(channel: string, message: unknown): Promise<void>
  /** Resolves once the subscription is active; the returned function removes it. */
  subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>>
  close(): Promise<void>
}

/** Local fan-out shared by both adapters: channel -> handlers, errors isolated per handler. */
export class HandlerMap {
  private readonly handlers = new Map<string, Set<BusHandler>>()

  add(channel: string, handler: BusHandler): boolean {
    let set = this.handlers.get(channel)
    const first = !set
    if (!set) {
      set = new Set()
      this.handlers.set(channel, set)
    }
    set.add(handler)
    return first
  }

  /** Returns true when the channel has no handlers left. */
  remove(channel: string, handler: BusHandler): boolean {
    const set = this.handlers.get(channel)
    if (!set) return false
    set.delete(handler)
    if (set.size > 0) return false
    this.handlers.delete(channel)
    return true
  }

  has(channel: string): boolean {
    return this.handlers.has(channel)
  }

  deliver(channel: string, message: unknown, onError: (err: unknown) => void): void {
    const set = this.handlers.get(channel)
    if (!set) return
    for (const handler of set) {
      try {
        handler(message)
      } catch (err) {
        onError(err)
      }
    }
  }

  clear(): void {
    this.handlers.clear()
  }
}
