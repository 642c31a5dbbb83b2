import type { FrameMap } from './frames.js'

/**
 * Pacing of what the SDK sends to the server's inbound limit, as its `connected` frame states it
 * (`limits`): frames within it are read, frames over it dropped (see `RealtimeConnection`).
 */

/**
 * A token bucket like the server's inbound one: `rate` tokens a second, up to `capacity`; a frame
 * takes one. Times are `Date.now()` milliseconds, passed in.
 */
export class SendBudget {
  private tokens: number
  private at: number

  constructor(
    readonly rate: number,
    readonly capacity: number,
    now: number,
    spent = 0,
  ) {
    this.tokens = capacity - spent
    this.at = now
  }

  /** Takes a token when there is one. */
  take(now: number): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Milliseconds until `take` succeeds (0: now). */
  wait(now: number): number {
    this.refill(now)
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate)
  }

  /** The server's bucket was found empty: the next token comes `afterMs` from now. */
  empty(now: number, afterMs: number): void {
    this.tokens = 1 - (Math.max(0, afterMs) * this.rate) / 1000
    this.at = now
  }

  private refill(now: number): void {
    if (now <= this.at) return
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.rate) / 1000)
    this.at = now
  }
}

/**
 * The client's budget for a socket whose `connected` carried `limits`: the server's bucket less
 * headroom (a tenth of a second of its rate, at least one frame) for frames sent on time that
 * bunch up on the way, and less the frames already sent before `connected`. None without limits
 * (an older server): frames then go out unpaced, as before.
 */
export function sendBudget(
  limits: FrameMap['connected']['limits'],
  now: number,
  spent = 0,
): SendBudget | undefined {
  const rate = limits?.messages_per_second
  const burst = limits?.burst
  if (typeof rate !== 'number' || !(rate > 0) || typeof burst !== 'number' || !(burst >= 1)) return undefined
  const capacity = Math.max(1, Math.floor(burst) - Math.max(1, Math.ceil(rate / 10)))
  return new SendBudget(rate, capacity, now, spent)
}
