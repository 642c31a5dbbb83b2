// The @rails/actioncable package ships no types; this is the part the tests use.
declare module '@rails/actioncable' {
  export interface Subscription {
    identifier: string
    perform(action: string, data?: Record<string, unknown>): boolean
    unsubscribe(): void
  }
  export interface Consumer {
    subscriptions: {
      create(
        channel: string | Record<string, unknown>,
        mixin: Record<string, (...args: any[]) => void>,
      ): Subscription
    }
    connect(): boolean
    disconnect(): void
  }
  const ActionCable: {
    adapters: { WebSocket: unknown; logger: unknown }
    logger: { enabled: boolean }
    createConsumer(url: string | (() => string)): Consumer
  }
  export default ActionCable
}
