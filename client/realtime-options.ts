// The options and states of a campaign's real-time connection (`realtime.ts`), as callers see them.
import type { FetchLike } from './http.js'

/** The subset of the WebSocket API the SDK uses: browsers' `WebSocket` and Node's `ws` both fit. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: any) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: any) => void) | null
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface BackoffOptions {
  /** First retry delay ceiling in ms (default 500). */
  initialMs?: number
  /** Largest delay ceiling in ms (default 30 000). */
  maxMs?: number
  factor?: number
  /**
   * The window the first retry after a server restart (close 1012, or 1001 going away) is spread
   * over, in ms (default 5 000, at most `maxMs`): every client of the node gets that close at
   * once, and retrying together would hit the next node as one burst.
   */
  restartWindowMs?: number
  /**
   * How long a socket must stay up after its `connected` before its drop counts as a new start
   * (the next retry at `initialMs` again), in ms (default 5 000). One dropped sooner counts as a
   * failed attempt: a server that accepts and then fails at once (1011 while it reads the replay)
   * is backed off from, not retried twice a second by every client.
   */
  stableMs?: number
}

/** What came with a change of state: the close behind it, and when the next attempt goes. */
export interface StateChange {
  /**
   * `reconnecting` after a socket closed: its close code (none when no socket was opened: the
   * token function threw).
   */
  code?: number
  /** Its close reason (`SERVER_RESTART`, `HEARTBEAT_TIMEOUT`, …). */
  reason?: string
  /** `reconnecting`: in how many ms the next attempt goes (a `Retry-After` may push it later). */
  retryInMs?: number
}

export interface HeartbeatOptions {
  /** Silence from the server (no frame at all) after which a `ping` goes out, in ms (default 25 000). */
  idleMs?: number
  /** How long the server has to answer that ping (any frame does) before the socket is dead (default 10 000). */
  timeoutMs?: number
}

export interface RealtimeOptions {
  baseUrl: string
  campaign: string
  /** The path's user id: `guest` for a guest session (default), else the user's id. */
  userId?: string
  /**
   * The JWT, or a function asked before every (re)connect so a refreshed token is used. A
   * function that throws (a refresh while offline) counts as a failed attempt: retried with backoff.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  WebSocket?: WebSocketCtor
  /** Resume after this campaign_event id (then kept up to date automatically). */
  since?: string | number
  /** Cursor send rate in Hz: the campaign's `scheduling.frequency`, or a function fetching it. */
  frequency?: number | (() => Promise<number>)
  /** `protocol` (default) sends the token as `Sec-WebSocket-Protocol: ovasabi, <token>`; `query` as `?token=`. */
  tokenTransport?: 'protocol' | 'query'
  backoff?: BackoffOptions
  /** Reconnect after unexpected closes (default true). */
  reconnect?: boolean
  /**
   * Finding a dead socket: a network that vanished without closing it (a phone changing networks,
   * a laptop waking up) leaves it `open` for minutes, until TCP gives up, and neither a browser nor
   * `ws` tells. After `idleMs` without a frame the connection pings the server; no frame within
   * `timeoutMs` after that, or no `connected` within both of a socket's opening, and the socket
   * is dropped and replaced, as after any drop. `false`: none (the socket waits for TCP).
   */
  heartbeat?: HeartbeatOptions | false
  /**
   * `fetch` for the probe that tells why a socket closed before it opened (default: the global
   * one). Without either, such a close is retried with backoff, unexplained.
   */
  fetch?: FetchLike
  /** The randomness of the backoff's jitter (default `Math.random`): a test injects its own. */
  random?: () => number
  /**
   * Dispatches that may wait for the socket (made while it is down, or sent and not acknowledged
   * when it dropped) before a new one made while it is down is refused with `QUEUE_FULL`
   * (default 100). Once connected they go out paced to the server's `connected.limits`.
   */
  maxQueued?: number
}

export interface DispatchOptions {
  /** The idempotency key (default: a fresh ULID); a resend after a reconnect reuses it. */
  requestId?: string
  /**
   * From the call, across reconnects: rejects with `TIMEOUT` when no ack came by then (default
   * 15 000; `Infinity`: none).
   */
  timeoutMs?: number
}
