import type { Duplex } from 'node:stream'
import { AppError } from '../platform/http/errors.js'

/** How many sockets one client may hold open on this node; 0 means no limit. */
export interface SocketLimits {
  perSession: number
  perIp: number
}

/**
 * What the limit is counted by: the client's network (`clientNetwork`: an IPv4 address, an IPv6
 * /64), or the session token's session.
 */
export type LimitScope = 'ip' | 'session'

/** 429 before the upgrade, answered like every other refusal (REST error body, no socket). */
export function tooManyConnections(scope: LimitScope, limit: number): AppError {
  const who = scope === 'ip' ? 'This address (or its network)' : 'This session'
  return new AppError(
    429,
    'TOO_MANY_CONNECTIONS',
    `${who} already has ${limit} sockets open here; close one before opening another`,
    { details: { scope, limit } },
  )
}

/** The window `WS_UPGRADES_PER_MINUTE_PER_IP` counts upgrades in. */
export const UPGRADE_WINDOW_MS = 60_000

/**
 * 429 before the upgrade for a client network over `WS_UPGRADES_PER_MINUTE_PER_IP`: its sockets
 * may be few, but each upgrade costs a token check, a campaign read, a presence join and a replay.
 * `Retry-After` is when its window ends (the SDK's probe waits for it).
 */
export function tooManyUpgrades(limit: number, retryAfterSeconds: number): AppError {
  return new AppError(
    429,
    'RATE_LIMITED',
    `This address (or its network) opened ${limit} sockets in the last minute; try again later`,
    {
      details: { scope: 'ip', limit, window_seconds: UPGRADE_WINDOW_MS / 1000 },
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    },
  )
}

/**
 * The error frame of an `auth` refresh whose token is of a session already holding `limit`
 * sockets here: the socket would be one more of them. Refused as its upgrade would be, with the
 * same code and details; the socket keeps its token.
 */
export function sessionFullForRefresh(limit: number): AppError {
  return new AppError(
    429,
    'TOO_MANY_CONNECTIONS',
    `The new token's session already has ${limit} sockets open here; this socket keeps its current token`,
    { details: { scope: 'session', limit } },
  )
}

/**
 * The sockets each client network and each session holds on this node, so one address (or one
 * IPv6 /64, whose holder may send from any address in it) or one guest token cannot open
 * thousands (each with its own message allowance, each guest session counted in `active_users`).
 * A slot is taken before the upgrade completes, while the token and campaign are still being
 * checked too (concurrent upgrades cannot overrun it), and is given back when the TCP socket
 * closes, whatever ended it: a refusal, a handshake `ws` aborted, a socket that failed while
 * opening, or a normal close. A socket's session slot moves with it when an `auth` refresh puts
 * it in another session (`moveSession`): its close gives back the slot of the session it is in
 * then, once.
 */
export class SocketCounts {
  private readonly byIp = new Map<string, number>()
  private readonly bySession = new Map<string, number>()
  /** The session whose slot each counted socket holds now (none once it closed). */
  private readonly sessionOf = new WeakMap<Duplex, string>()

  constructor(private readonly limits: SocketLimits) {}

  /** Take a slot of `network` (the address's `clientNetwork`) for `socket`; false (none taken) when full. */
  takeIp(socket: Duplex, network: string): boolean {
    if (!counted(network, this.limits.perIp, socket)) return true
    if (!increment(this.byIp, network, this.limits.perIp)) return false
    socket.once('close', () => decrement(this.byIp, network))
    return true
  }

  /** Take a slot of `session` for `socket`; false (nothing taken) when the session is at its limit. */
  takeSession(socket: Duplex, session: string): boolean {
    if (!counted(session, this.limits.perSession, socket)) return true
    if (!increment(this.bySession, session, this.limits.perSession)) return false
    this.sessionOf.set(socket, session)
    socket.once('close', () => {
      const held = this.sessionOf.get(socket)
      if (held === undefined) return
      this.sessionOf.delete(socket)
      decrement(this.bySession, held)
    })
    return true
  }

  /**
   * `socket` now belongs to `session` (an `auth` refresh): its slot moves there, the session it
   * held one of gets it back. False, nothing changed, when `session` is at its limit. A socket
   * holding no slot (no limit, or it closed and gave its slot back already) takes none.
   */
  moveSession(socket: Duplex, session: string): boolean {
    const held = this.sessionOf.get(socket)
    if (held === undefined || held === session) return true
    if (!increment(this.bySession, session, this.limits.perSession)) return false
    decrement(this.bySession, held)
    this.sessionOf.set(socket, session)
    return true
  }

  /** Sockets counted for a network or a session now (tests, diagnostics). */
  count(scope: LimitScope, key: string): number {
    return (scope === 'ip' ? this.byIp : this.bySession).get(key) ?? 0
  }
}

/**
 * Whether a socket takes a slot at all: not without a limit, nor one already destroyed (it has
 * emitted, or is about to emit, 'close': nothing to hold for it).
 */
function counted(key: string, limit: number, socket: Duplex): boolean {
  return limit !== 0 && key !== '' && !socket.destroyed
}

function increment(counts: Map<string, number>, key: string, limit: number): boolean {
  const n = counts.get(key) ?? 0
  if (n >= limit) return false
  counts.set(key, n + 1)
  return true
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left > 0) counts.set(key, left)
  else counts.delete(key)
}
