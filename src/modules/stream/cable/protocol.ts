/** The ActionCable wire protocol (what `@rails/actioncable` speaks), and our bus message for it. */

export const CABLE_PATH = '/cable'
export const SUBPROTOCOL = 'actioncable-v1-json'
export const PING_INTERVAL_MS = 3000

/** Bus channel carrying broadcasts to every node's `/cable` subscribers. */
export const CABLE_CHANNEL = 'ovasabi:cable'

/** `broadcasting` is the stream name (`streams`, `collaboration`); `message` goes to subscribers as is. */
export interface CableBroadcast {
  broadcasting: string
  message: Record<string, unknown>
  /** Only this connection (errors go to the sender only). */
  connection_id?: string
}

/** Client → server command; `identifier` and `data` are JSON strings that we keep verbatim. */
export interface CableCommand {
  command: 'subscribe' | 'unsubscribe' | 'message'
  identifier: string
  data?: string
}

export const welcome = () => JSON.stringify({ type: 'welcome' })
export const ping = () => JSON.stringify({ type: 'ping', message: Math.floor(Date.now() / 1000) })
export const disconnect = (reason: string, reconnect: boolean) =>
  JSON.stringify({ type: 'disconnect', reason, reconnect })

/**
 * Frames that carry an identifier splice the client's own string in, byte for byte: the client
 * matches subscriptions by string equality, and re-serialising could reorder keys or change escapes.
 */
export const withIdentifier = (identifier: string, rest: string) =>
  `{"identifier":${JSON.stringify(identifier)}${rest ? `,${rest}` : ''}}`
export const confirm = (identifier: string) => withIdentifier(identifier, '"type":"confirm_subscription"')
export const reject = (identifier: string) => withIdentifier(identifier, '"type":"reject_subscription"')
export const message = (identifier: string, payload: unknown) =>
  withIdentifier(identifier, `"message":${JSON.stringify(payload)}`)
