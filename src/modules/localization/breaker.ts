/**
 * A circuit breaker: after `threshold` consecutive failures it opens and refuses calls for
 * `cooldownMs`, so a dead upstream costs nothing instead of a timeout per request. After the
 * cooldown one trial call is let through (half-open); its outcome closes or re-opens the circuit.
 */
export type BreakerState = 'closed' | 'open' | 'half_open'

export interface CircuitBreaker {
  state(): BreakerState
  /** False while open (and while a half-open trial is already running). */
  allow(): boolean
  success(): void
  failure(): void
  /**
   * The call ended without showing whether the upstream is healthy (it refused our input): ends a
   * half-open trial undecided, so the next call is the trial, and leaves the failure count alone.
   */
  neutral(): void
  /**
   * The upstream asked to be left alone for `ms` (a 429's `Retry-After`): open until then at
   * least, whatever the failure count, so no caller on this node asks it before it said to. At
   * most `MAX_HOLD_MS` at a time: a proxy's `Retry-After: 86400` must not stop translation for a
   * day (the trial after it asks again, and is told again).
   */
  holdOpen(ms: number): void
  /** While open: how long until a trial call may go (ms); undefined otherwise. */
  retryAfterMs(): number | undefined
}

export const MAX_HOLD_MS = 5 * 60_000

export function createBreaker(opts: {
  threshold: number
  cooldownMs: number
  now?: () => number
  onChange?: (state: BreakerState) => void
}): CircuitBreaker {
  const now = opts.now ?? Date.now
  let failures = 0
  /** When an open circuit lets its trial through. */
  let reopenAt = 0
  let current: BreakerState = 'closed'
  let trialRunning = false

  function set(state: BreakerState) {
    if (state === current) return
    current = state
    opts.onChange?.(state)
  }

  function state(): BreakerState {
    if (current === 'open' && now() >= reopenAt) set('half_open')
    return current
  }

  return {
    state,
    allow() {
      const s = state()
      if (s === 'closed') return true
      if (s === 'open' || trialRunning) return false
      trialRunning = true
      return true
    },
    success() {
      failures = 0
      trialRunning = false
      set('closed')
    },
    failure() {
      failures++
      const wasTrial = trialRunning
      trialRunning = false
      if (wasTrial || current === 'half_open' || failures >= opts.threshold) {
        // Never shortened: a `Retry-After` hold outlasts the failures that come during it.
        reopenAt = Math.max(current === 'open' ? reopenAt : 0, now() + opts.cooldownMs)
        set('open')
      }
    },
    neutral() {
      trialRunning = false
    },
    holdOpen(ms) {
      trialRunning = false
      reopenAt = Math.max(state() === 'open' ? reopenAt : 0, now() + Math.min(ms, MAX_HOLD_MS))
      set('open')
    },
    retryAfterMs() {
      return state() === 'open' ? Math.max(0, reopenAt - now()) : undefined
    },
  }
}
