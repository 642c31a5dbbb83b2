import type { Config } from '../config.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import type { ClientFrames } from './client-frames.js'
import type { Connection } from './connection.js'
import type { Hub } from './hub.js'
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
}

/** How often the gateway sweeps its sockets (ms). */
export const SWEEP_MS = 1000
const REVALIDATE_MS = 30_000
/** Token re-checks in flight at once during a re-validation pass. */
export const REVALIDATE_CONCURRENCY = 16

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
   * Revoked API keys and tokens close their sockets too, not only expired ones. Each check may
   * await the database (API keys, revocations): `REVALIDATE_CONCURRENCY` run at a time, so 20,000
   * sockets take a sixteenth of the time one at a time took. A socket that closed meanwhile is
   * skipped, and one that refreshed its token (`auth`) meanwhile is judged by the new one later.
   * A pass still running when the next is due is not doubled: the next one is skipped.
   */
  private async revalidate(conns: Connection[]) {
    if (this.revalidating) return
    this.revalidating = true
    let next = 0
    const worker = async () => {
      while (next < conns.length) {
        const c = conns[next++]!
        if (c.closing) continue
        const token = c.token
        try {
          await this.deps.authenticator.resolve(token)
        } catch (err) {
          if (c.closing || c.token !== token) continue
          const code = (err as { code?: string }).code ?? 'UNAUTHORIZED'
          this.deps.frames.error(c, code, 'The credential is no longer valid')
          this.deps.close(c, 1008, code)
        }
      }
    }
    try {
      const n = Math.min(REVALIDATE_CONCURRENCY, conns.length)
      await Promise.all(Array.from({ length: n }, worker))
    } finally {
      this.revalidating = false
    }
  }
}
