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

/**
 * The sockets each client network and each session holds on this node, so one address (or one
 * IPv6 /64, whose holder may send from any address in it) or one guest token cannot open
 * thousands (each with its own message allowance, each guest session counted in `active_users`).
 * A slot is taken before the upgrade completes, while the token and campaign are still being
 * checked too (concurrent upgrades cannot overrun it), and is given back when the TCP socket
 * closes, whatever ended it: a refusal, a handshake `ws` aborted, a socket that failed while
 * opening, or a normal close.
 */
export class SocketCounts {
  private readonly byIp = new Map<string, number>()
  private readonly bySession = new Map<string, number>()

  constructor(private readonly limits: SocketLimits) {}

  /** Take a slot of `network` (the address's `clientNetwork`) for `socket`; false (none taken) when full. */
  takeIp(socket: Duplex, network: string): boolean {
    return take(this.byIp, network, this.limits.perIp, socket)
  }

  /** Take a slot of `session` for `socket`; false (nothing taken) when the session is at its limit. */
  takeSession(socket: Duplex, session: string): boolean {
    return take(this.bySession, session, this.limits.perSession, socket)
  }

  /** Sockets counted for a network or a session now (tests, diagnostics). */
  count(scope: LimitScope, key: string): number {
    return (scope === 'ip' ? this.byIp : this.bySession).get(key) ?? 0
  }
}

function take(counts: Map<string, number>, key: string, limit: number, socket: Duplex): boolean {
  // A socket already destroyed has emitted (or is about to emit) 'close': nothing to hold for it.
  if (limit === 0 || key === '' || socket.destroyed) return true
  const n = counts.get(key) ?? 0
  if (n >= limit) return false
  counts.set(key, n + 1)
  socket.once('close', () => {
    const left = (counts.get(key) ?? 1) - 1
    if (left > 0) counts.set(key, left)
    else counts.delete(key)
  })
  return true
}
