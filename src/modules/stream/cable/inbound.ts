/**
 * The inbound limit of one `/cable` socket, as `/ws`'s (realtime/connection.ts, client-frames.ts):
 * a token bucket of `rate` frames a second holding up to twice that, and a flood window whose
 * first drop is told and past 3× the rate of drops ends the socket.
 */

/** The flood window: drops are counted per window, and its first one is told. */
export const FLOOD_WINDOW_MS = 10_000

export class InboundBucket {
  private tokens: number
  private lastRefill: number
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
    return this.rate * 2
  }

  /** Whether one more frame is taken (a token spent); false: it is to be dropped unread. */
  admit(now: number): boolean {
    const elapsed = now - this.lastRefill
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000)
      this.lastRefill = now
    }
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Counts a dropped frame in its flood window; true once the window's drops pass 3× the rate. */
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
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate)
  }
}
