import { burstOf, msUntilToken, type TokenBucket, takeToken } from '../../../platform/token-bucket.js'

/**
 * The inbound limit of one `/cable` socket, as `/ws`'s (realtime/connection.ts, client-frames.ts):
 * a token bucket of `rate` frames a second holding up to twice that (platform/token-bucket.ts,
 * the one `/ws` uses), and a flood window whose first drop is told and past 3× the rate of drops
 * ends the socket.
 */

/** The flood window: drops are counted per window, and its first one is told. */
export const FLOOD_WINDOW_MS = 10_000

export class InboundBucket implements TokenBucket {
  tokens: number
  lastRefill: number
  private floodWindow = 0
  private floodDrops = 0
  private toldInWindow = false

  constructor(
    /** Frames a second (`CABLE_COMMANDS_PER_SECOND`). */
    readonly rate: number,
    now = Date.now(),
  ) {
    this.tokens = this.burst
    this.lastRefill = now
  }

  /** Two seconds' worth: a client re-subscribing everything after a reconnect fits in it. */
  get burst(): number {
    return burstOf(this.rate)
  }

  /** Whether one more frame is taken (a token spent); false: it is to be dropped unread. */
  admit(now: number): boolean {
    return takeToken(this, this.rate, now)
  }

  /**
   * Counts a frame over the bucket in its flood window (a dropped one, or an `unsubscribe`, which
   * is honoured all the same: server.ts); true once the window's count passes 3× the rate.
   */
  drop(now: number): boolean {
    if (now - this.floodWindow > FLOOD_WINDOW_MS) {
      this.floodWindow = now
      this.floodDrops = 0
      this.toldInWindow = false
    }
    return ++this.floodDrops > this.rate * 3
  }

  /**
   * Whether this window's drops are still to be told: only its first drop that can be (a command
   * naming its subscription) is, then `told()`; the rest are silent (and not even read), so a
   * flood costs one answer per window.
   */
  get untold(): boolean {
    return !this.toldInWindow
  }

  told(): void {
    this.toldInWindow = true
  }

  /** Milliseconds until the bucket holds a token again (as of its last `admit`). */
  untilAdmitted(): number {
    return msUntilToken(this, this.rate)
  }
}
