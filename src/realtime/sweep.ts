import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import { eachLimited } from '../platform/concurrency.js'
import { AppError } from '../platform/http/errors.js'
import type { ClientFrames } from './client-frames.js'
import type { Connection } from './connection.js'
import type { Hub } from './hub.js'
import type { RealtimeMetrics } from './metrics.js'
import type { StatsFeed } from './stats.js'
import { writePing } from './wire.js'

export interface SweepDeps {
  hub: Hub
  authenticator: Pick<Authenticator, 'resolve'>
  frames: Pick<ClientFrames, 'error'>
  config: Pick<Config, 'WS_HEARTBEAT_MS' | 'WS_IDLE_MS'>
  /** Campaign figures nobody here reads any more are forgotten on each sweep. */
  stats?: Pick<StatsFeed, 'prune'>
  close(conn: Connection, code: number, reason: string): void
  /** A re-check that could not be answered (database or Redis down) is logged here. */
  log: Pick<FastifyBaseLogger, 'warn'>
  /** Failed re-checks are counted: a log line per pass does not show a trend, nor alert. */
  metrics: Pick<RealtimeMetrics, 'rechecksFailed'>
}

/** How often the gateway sweeps its sockets (ms). */
export const SWEEP_MS = 1000
const REVALIDATE_MS = 30_000
/** Token re-checks in flight at once during a re-validation pass. */
export const REVALIDATE_CONCURRENCY = 16

/**
 * Whether a failed re-check is an answer about the credential (revoked, expired, erased, unknown
 * key: the authenticator's `UnauthorizedError`) rather than a failure to ask (the database or Redis
 * unreachable, a timeout), which says nothing about it.
 */
export function isCredentialRefusal(err: unknown): err is AppError {
  return err instanceof AppError && err.statusCode === 401
}

/**
 * A socket whose credential is no longer honoured: told why (an `error` frame, unless it is still
 * opening: nothing goes out before `connected`) and closed 1008 with the code as reason. The 30 s
 * re-check and the close on a logout or an erasure (`ovasabi:auth:revoked`) both end sockets so.
 */
export function closeRefused(
  deps: Pick<SweepDeps, 'frames' | 'close'>,
  conn: Connection,
  code: string,
): void {
  if (conn.closing) return
  if (conn.held === null) deps.frames.error(conn, code, 'The credential is no longer valid')
  deps.close(conn, 1008, code)
}

/**
 * The gateway's once-a-second pass: token expiry, idle marks, heartbeats, periodic re-validation,
 * and stats figures of campaigns this node no longer holds.
 */
export class Sweeper {
  private sweeps = 0
  private lastRevalidate = Date.now()
  private revalidating = false

  constructor(private readonly deps: SweepDeps) {}

  run(now = Date.now()): void {
    const { config, hub, frames } = this.deps
    // Each socket is pinged once per heartbeat period, but in its own slot of the period: one
    // sweep pinging every socket at once stalled the event loop (and every tick) at N = 1000.
    const slots = Math.max(1, Math.round(config.WS_HEARTBEAT_MS / SWEEP_MS))
    const slot = this.sweeps++ % slots
    const revalidate = now - this.lastRevalidate >= REVALIDATE_MS
    if (revalidate) this.lastRevalidate = now
    const idleMs = config.WS_IDLE_MS
    const toCheck: Connection[] = []
    for (const room of hub.rooms.values()) {
      for (const c of room.conns) {
        // Still opening: nothing goes out before `connected`, and its pongs are not read yet.
        if (c.closing || c.held !== null) continue
        if (c.expiresAt && now >= c.expiresAt) {
          frames.error(c, 'TOKEN_EXPIRED', 'The token expired; reconnect with a fresh one')
          this.deps.close(c, 1008, 'TOKEN_EXPIRED')
          continue
        }
        if (!c.idle && now - c.lastInput >= idleMs) {
          c.idle = true
          room.markIdle(c)
        }
        if (c.seq % slots === slot) {
          if (!c.alive) {
            c.closeCode = 1006
            c.closing = true
            c.ws.terminate()
            continue
          }
          c.alive = false
          writePing(c.ws)
        }
        if (revalidate) toCheck.push(c)
      }
    }
    if (toCheck.length > 0) void this.revalidate(toCheck)
    this.deps.stats?.prune((slug) => hub.rooms.has(slug), now)
  }

  /**
   * Revoked API keys and tokens close their sockets too, not only expired ones, and a credential
   * still honoured gives the socket the roles it holds now (an API key's as its row says). Each check may
   * await the database (API keys, revocations): `REVALIDATE_CONCURRENCY` run at a time, so 20,000
   * sockets take a sixteenth of the time one at a time took. A socket that closed meanwhile is
   * skipped, and one that refreshed its token (`auth`) meanwhile is judged by the new one later.
   * A pass still running when the next is due is not doubled: the next one is skipped.
   *
   * Only a refusal closes a socket. A check that failed to get an answer (a database blip while
   * reading an API key or a revocation) keeps it, to be checked again on the next pass: closing on
   * any error cut every API-key socket, and every guest, whenever the database hiccuped. Such
   * failures are logged once per pass, with how many there were.
   */
  private async revalidate(conns: Connection[]) {
    if (this.revalidating) return
    this.revalidating = true
    let unanswered = 0
    let lastError: unknown
    try {
      await eachLimited(conns, REVALIDATE_CONCURRENCY, async (c) => {
        if (c.closing) return
        const token = c.token
        try {
          const principal = await this.deps.authenticator.resolve(token)
          // The roles the credential holds now, not at the upgrade: an API key's role is read
          // from its row (through the key cache), so a key demoted meanwhile stops getting
          // admin-only frames, and keeps a draft's room no longer (`campaignClosedTo`). A
          // verdict on a token the socket no longer uses changes nothing.
          if (!c.closing && c.token === token) c.roles = principal.roles
        } catch (err) {
          if (!isCredentialRefusal(err)) {
            unanswered++
            lastError = err
            return
          }
          // A verdict on a token the socket no longer uses (closed, or refreshed) closes nothing.
          if (c.closing || c.token !== token) return
          this.deps.metrics.rechecksFailed.labels('refused').inc()
          closeRefused(this.deps, c, err.code)
        }
      })
    } finally {
      this.revalidating = false
    }
    if (unanswered > 0) {
      this.deps.metrics.rechecksFailed.labels('error').inc(unanswered)
      this.deps.log.warn(
        { err: lastError, unanswered, checked: conns.length },
        'credential re-check failed; those sockets stay open and are checked again on the next pass',
      )
    }
  }
}
