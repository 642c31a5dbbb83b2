import type { FrameMap } from './frames.js'
import { type SendBudget, sendBudget } from './pacing.js'

/** The one method of a socket the sender needs. */
export interface Writable {
  send(data: string): void
}

/** A dispatch as the sender sees it: its frame, and where it stands on the current socket. */
export interface PacedDispatch {
  /** The frame as first serialised: a resend is byte for byte the same request. */
  readonly frame: string
  /** Written to the current socket and not acknowledged: resent if the server reports drops. */
  sent: boolean
  /** In the backlog, waiting for a token. */
  waiting: boolean
}

/**
 * What a `RealtimeConnection` sends on its ready socket, paced to the server's inbound limit
 * (`connected.limits`): frames within the budget go at once, the others wait in order for tokens,
 * and a waiting cursor position is replaced by a newer one and goes after them. A dispatch that
 * is settled while it waits (`isLive` false) goes without spending a token.
 */
export class PacedSender<D extends PacedDispatch> {
  private socket?: Writable
  /** The socket's budget (from `connected.limits`): frames over it wait in the backlog. */
  private budget?: SendBudget
  /** Frames waiting for a token, in order: text, or a dispatch. */
  private backlog: Array<string | D> = []
  /** A cursor frame waiting for a token; a newer one replaces it. Goes after the backlog. */
  private waitingCursor?: string
  /** The one timer that sends what waits as tokens come. */
  private timer?: ReturnType<typeof setTimeout>

  constructor(private readonly isLive: (dispatch: D) => boolean) {}

  /**
   * Sends on `socket` from now, within `limits` less the `spent` frames sent on it before
   * `connected` (the server counted them too). Without limits (an older server), unpaced.
   */
  start(socket: Writable, limits: FrameMap['connected']['limits'], spent: number): void {
    this.socket = socket
    this.budget = sendBudget(limits, Date.now(), spent)
  }

  /** The socket is gone (or will be): what waits for it goes with it. */
  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.socket = undefined
    this.budget = undefined
    this.backlog = []
    this.waitingCursor = undefined
  }

  /** A frame or dispatch: written now if nothing waits and the budget allows, else queued. */
  send(item: string | D): void {
    if (typeof item !== 'string' && item.waiting) return
    if (this.budget && (this.backlog.length > 0 || !this.budget.take(Date.now()))) {
      if (typeof item !== 'string') item.waiting = true
      this.backlog.push(item)
      this.pace()
      return
    }
    this.write(item)
  }

  /** A cursor frame: written now if nothing waits and the budget allows, else it waits last. */
  cursor(data: string): void {
    this.waitingCursor = undefined
    if (!this.budget || (this.backlog.length === 0 && this.budget.take(Date.now()))) this.write(data)
    else {
      this.waitingCursor = data
      this.pace()
    }
  }

  /**
   * The server dropped frames over its rate, and reads again in `retryAfterMs`: `dispatches`
   * (those sent and not acknowledged, which may have been among them) go again, first in line.
   */
  resend(dispatches: D[], retryAfterMs: number): void {
    const budget = this.budget
    if (!budget) return
    budget.empty(Date.now(), retryAfterMs)
    const again = dispatches.filter((d) => d.sent && !d.waiting)
    for (const d of again) {
      d.sent = false
      d.waiting = true
    }
    this.backlog.unshift(...again)
    this.pace()
  }

  private write(item: string | D): void {
    try {
      this.socket?.send(typeof item === 'string' ? item : item.frame)
      if (typeof item !== 'string') item.sent = true
    } catch {
      // The socket is going down: its close event follows and the frame is re-sent after the reconnect.
    }
  }

  /** Arms the timer for the next token, unless it is armed. */
  private pace(): void {
    if (this.timer !== undefined || !this.budget) return
    this.timer = setTimeout(() => this.drain(), this.budget.wait(Date.now()))
  }

  /** Sends what waits while tokens last: the backlog in order, then the newest cursor. */
  private drain(): void {
    this.timer = undefined
    const budget = this.budget
    if (!budget || !this.socket) return
    const now = Date.now()
    while (this.backlog.length > 0) {
      const item = this.backlog[0]!
      const live = typeof item === 'string' || this.isLive(item)
      if (live && !budget.take(now)) break
      this.backlog.shift()
      if (typeof item !== 'string') item.waiting = false
      if (live) this.write(item)
    }
    if (this.backlog.length === 0 && this.waitingCursor !== undefined && budget.take(now)) {
      this.write(this.waitingCursor)
      this.waitingCursor = undefined
    }
    if (this.backlog.length > 0 || this.waitingCursor !== undefined) this.pace()
  }
}
