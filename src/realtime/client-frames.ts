import type { FastifyBaseLogger } from 'fastify'
import type { RawData } from 'ws'
import { ulid } from 'ulid'
import type { Dispatcher } from '../nexus/dispatcher.js'
import { parseActionBody } from '../nexus/routes.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import type { Principal } from '../platform/auth/principal.js'
import { AppError, BadRequestError, ForbiddenError, ValidationError } from '../platform/http/errors.js'
import { type Connection, deliveryOf, type SendLimits } from './connection.js'
import { coordinate, encode, errorFrame, rateLimitedFrame, refusedAck } from './frames.js'
import type { InboundRegistry } from './inbound.js'
import type { RealtimeMetrics } from './metrics.js'
import { readFrame } from './parse.js'
import type { OutboundFrame } from './publish.js'
import type { Room } from './room.js'

export interface ClientFramesDeps {
  authenticator: Authenticator
  dispatcher: Dispatcher
  inbound: InboundRegistry
  metrics: RealtimeMetrics
  limits: SendLimits
  /** Frames nested deeper are refused with `JSON_TOO_DEEP`, as REST bodies are (`JSON_MAX_DEPTH`). */
  maxDepth: number
  log: FastifyBaseLogger
  close(conn: Connection, code: number, reason: string): void
  room(conn: Connection): Room | undefined
  /**
   * The socket's token is now one of `session_id` (see `Hub.setSession`): it moves to that session,
   * its slot of the per-session socket limit included. Returns the refusal, having changed nothing,
   * when that session already holds its limit.
   */
  setSession(conn: Connection, session_id: string): AppError | undefined
}

/**
 * The flood window: its first drop is told with a `RATE_LIMITED` error frame; past 3× the rate of
 * drops within it the socket is closed with 1008.
 */
const FLOOD_WINDOW_MS = 10_000

/** Client → server frames: cursor, ping, auth refresh, campaign_event, and module-owned types. */
export class ClientFrames {
  private readonly accepted: Record<string, { inc(): void }>
  private readonly rateDropped: { inc(): void }
  private readonly invalid: { inc(): void }

  constructor(private readonly deps: ClientFramesDeps) {
    const m = deps.metrics
    this.accepted = {
      cursor: m.inbound.labels('cursor'),
      ping: m.inbound.labels('ping'),
      auth: m.inbound.labels('auth'),
      campaign_event: m.inbound.labels('campaign_event'),
      module: m.inbound.labels('module'),
    }
    this.rateDropped = m.dropped.labels('inbound_rate_limited')
    this.invalid = m.dropped.labels('inbound_invalid')
  }

  handle(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return
    const now = Date.now()
    if (!this.admit(conn, now)) return
    const read = readFrame(data, isBinary, this.deps.maxDepth)
    // A ping is the client checking its line (the SDK's heartbeat), not the person doing
    // anything: it leaves them idle, their cursor marked so, as silence would.
    if ('refused' in read || read.frame.type !== 'ping') {
      conn.lastInput = now
      if (conn.idle) conn.idle = false
    }
    if ('refused' in read) {
      if (read.ack === undefined) this.reject(conn, read.refused)
      else {
        this.invalid.inc()
        this.refuseAction(conn, read.refused, read.ack)
      }
      return
    }
    const f = read.frame
    switch (f.type) {
      case 'cursor':
        this.cursor(conn, f)
        return
      case 'ping':
        this.accepted.ping!.inc()
        conn.write(
          encode(
            typeof f.ts === 'number'
              ? { type: 'pong', ts: f.ts, server_time: now }
              : { type: 'pong', server_time: now },
          ),
        )
        return
      case 'auth':
        return void this.auth(conn, f)
      case 'campaign_event':
        return void this.action(conn, f)
      default:
        return void this.module(conn, f)
    }
  }

  /**
   * A protocol-level ping: answered with its pong, as `ws` would, but within the socket's inbound
   * rate like every other frame. `ws`'s own answer cut a socket off without a close frame (1006,
   * no reason) once 60 of its pongs were pending, which a burst of pings read at once reaches.
   */
  ping(conn: Connection, data: Buffer): void {
    if (conn.closing || !this.admit(conn, Date.now())) return
    if (conn.ws.readyState === 1) conn.ws.pong(data)
  }

  /**
   * Whether the socket's inbound bucket takes one more frame. Frames over it are dropped unread:
   * the window's first drop is told, and past 3× the rate of drops the socket is closed (1008).
   */
  private admit(conn: Connection, now: number): boolean {
    if (conn.admit(now)) return true
    const rate = conn.messagesPerSecond
    this.rateDropped.inc()
    if (now - conn.floodWindow > FLOOD_WINDOW_MS) {
      conn.floodWindow = now
      conn.floodDrops = 0
    }
    if (++conn.floodDrops > rate * 3) {
      this.error(conn, 'RATE_LIMITED', 'Too many messages; closing')
      this.deps.close(conn, 1008, 'RATE_LIMITED')
    } else if (conn.floodDrops === 1 && conn.ws.readyState === 1) {
      // The window's first drop is told (a dropped action would otherwise just time out); the
      // rest are not, so a flood costs one frame per window and no parsing.
      conn.write(rateLimitedFrame(rate, conn.untilAdmitted()))
      this.deps.metrics.framesSent.labels('error').inc()
    }
    return false
  }

  error(conn: Connection, code: string, message: string, requestId?: string): void {
    if (conn.ws.readyState !== 1) return
    conn.write(errorFrame(new AppError(400, code, message), requestId))
    this.deps.metrics.framesSent.labels('error').inc()
  }

  private reject(conn: Connection, err: AppError, requestId?: string) {
    this.invalid.inc()
    if (conn.ws.readyState !== 1) return
    conn.write(errorFrame(err, requestId))
    this.deps.metrics.framesSent.labels('error').inc()
  }

  private cursor(conn: Connection, f: Record<string, unknown>) {
    const room = this.deps.room(conn)
    if (!room) return
    if (!room.settings.presence) {
      return this.reject(
        conn,
        new ForbiddenError(`The presence feature is not enabled for ${conn.campaign}`, 'FEATURE_DISABLED'),
      )
    }
    const x = coordinate(f.x)
    const y = coordinate(f.y)
    if (x === undefined || y === undefined) {
      return this.reject(
        conn,
        new ValidationError('Cursor x and y must be numbers from 0 to 1', [
          ...(x === undefined ? [{ path: '/x', message: 'must be a number in [0, 1]' }] : []),
          ...(y === undefined ? [{ path: '/y', message: 'must be a number in [0, 1]' }] : []),
        ]),
      )
    }
    this.accepted.cursor!.inc()
    room.move(conn, x, y)
  }

  /**
   * In-band token refresh: same user (and same guest session), new expiry. A person's token of
   * another of their sessions (they logged in again) moves the socket to that session: a logout
   * closes the sockets that use its tokens, as the 30 s re-check judges them, so logging out the
   * new session closes it at once and logging out the old one no longer does. Frames sent in a row
   * are checked concurrently and their checks may finish in any order: a frame whose check ends
   * after a later frame's token was applied is superseded (neither applied nor answered), so the
   * socket never goes back to an older token (an earlier expiry, perhaps a revoked session). A later
   * frame refused leaves the socket on the last token applied. The socket counts toward its
   * session's `WS_MAX_SOCKETS_PER_SESSION` as if it had opened with the new token: a token of a
   * session already holding that many sockets here is refused (429 `TOO_MANY_CONNECTIONS`, as its
   * upgrade would be), and the socket stays on its token and session.
   */
  private async auth(conn: Connection, f: Record<string, unknown>) {
    if (typeof f.token !== 'string' || f.token.length === 0 || f.token.length > 4096) {
      return this.reject(conn, new ValidationError('auth needs a "token" string'))
    }
    const n = ++conn.authSent
    try {
      const p = await this.deps.authenticator.resolve(f.token)
      if (n < conn.authApplied) return
      if (p.user_id !== conn.user_id || (p.user_id === 'guest' && p.session_id !== conn.session_id)) {
        throw new ForbiddenError('The new token is for another user or session', 'USER_MISMATCH')
      }
      // A session already holding its socket limit takes no more this way than by an upgrade:
      // refused before anything is applied, so the socket keeps its token (and its session).
      const full = this.deps.setSession(conn, p.session_id)
      if (full) throw full
      conn.authApplied = n
      conn.token = f.token
      conn.roles = p.roles
      conn.expiresAt = p.exp ? p.exp * 1000 : 0
      this.accepted.auth!.inc()
      if (conn.ws.readyState === 1) {
        conn.write(
          encode({
            type: 'auth_ok',
            expires_at: conn.expiresAt ? new Date(conn.expiresAt).toISOString() : null,
          }),
        )
      }
    } catch (err) {
      if (n < conn.authApplied) return
      this.reject(
        conn,
        err instanceof AppError ? err : new AppError(401, 'INVALID_TOKEN', 'Token is invalid'),
      )
    }
  }

  /** A campaign_event envelope: the same dispatcher as REST; it publishes the `update_ack`. */
  private async action(conn: Connection, f: Record<string, unknown>) {
    const named = typeof f.request_id === 'string' && f.request_id ? f.request_id : undefined
    // One the client did not name is this server's: it keys no idempotency record (see Nexus).
    // One it named wrongly (a number, "") is refused as over REST, answered under this server's id.
    const requestId = named ?? ulid()
    try {
      const body = parseActionBody(f)
      this.accepted.campaign_event!.inc()
      await this.deps.dispatcher.dispatch({
        campaignSlug: conn.campaign,
        body,
        principal: this.principal(conn),
        ip: conn.ip,
        userAgent: conn.userAgent,
        serverRequestId: named ? undefined : requestId,
        // The bus did not take the ack (Redis down): this socket, which waits for it, still gets it.
        ackLocally: (frame) => this.ackLocally(conn, frame),
      })
    } catch (err) {
      if (!(err instanceof AppError) || err.statusCode >= 500) {
        this.deps.log.error({ err, request_id: requestId }, 'WebSocket action failed')
      }
      this.refuseAction(conn, err, requestId)
    }
  }

  /** The `update_ack` of an action refused before it ran (the dispatcher acks the rest itself). */
  private refuseAction(conn: Connection, err: unknown, requestId: string) {
    if (conn.ws.readyState !== 1) return
    // Written at once, ahead of any queued events: a refused action committed nothing, so none
    // of them stem from it (the dispatcher's own acks keep their place: `Connection.sendEvent`).
    conn.write(refusedAck(err, requestId))
    this.deps.metrics.framesSent.labels('update_ack').inc()
  }

  /** An `update_ack` written here rather than through the bus: queued like a delivered one (a `reply`). */
  private ackLocally(conn: Connection, frame: OutboundFrame): boolean {
    if (!conn.sendEvent(encode(frame), this.deps.limits, Date.now(), 0, 'reply')) return false
    this.deps.room(conn)?.watch(conn)
    this.deps.metrics.framesSent.labels('update_ack').inc()
    return true
  }

  /** A module handler's answer, to the one socket that asked: queued (or lost) like any event. */
  private answerLocally(conn: Connection, frame: OutboundFrame) {
    if (!conn.sendEvent(encode(frame), this.deps.limits, Date.now(), 0, deliveryOf(frame))) return
    this.deps.room(conn)?.watch(conn)
    this.deps.metrics.framesSent.labels(frame.type).inc()
  }

  private async module(conn: Connection, f: Record<string, unknown>) {
    const type = f.type as string
    const handler = this.deps.inbound.get(type)
    if (!handler) {
      // The client's own text, bounded: a 16 KB type name is not echoed back whole.
      const name = type.length > 64 ? `${type.slice(0, 64)}…` : type
      return this.reject(
        conn,
        new BadRequestError(`Unknown frame type ${JSON.stringify(name)}`, 'UNKNOWN_FRAME_TYPE'),
      )
    }
    try {
      this.accepted.module!.inc()
      const answer = await handler(conn.info(), f)
      if (answer) this.answerLocally(conn, answer)
    } catch (err) {
      if (!(err instanceof AppError)) this.deps.log.error({ err, type }, 'inbound handler failed')
      this.reject(conn, err instanceof AppError ? err : new AppError(500, 'INTERNAL', 'Internal error'))
    }
  }

  private principal(conn: Connection): Principal {
    return {
      kind: conn.kind,
      user_id: conn.user_id,
      session_id: conn.session_id,
      roles: [...conn.roles],
      exp: conn.expiresAt ? conn.expiresAt / 1000 : undefined,
    }
  }
}
