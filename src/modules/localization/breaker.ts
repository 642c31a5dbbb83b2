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
}

export function createBreaker(opts: {
  threshold: number
  cooldownMs: number
  now?: () => number
  onChange?: (state: BreakerState) => void
}): CircuitBreaker {
  const now = opts.now ?? Date.now
  let failures = 0
  let openedAt = 0
  let current: BreakerState = 'closed'
  let trialRunning = false

  function set(state: BreakerState) {
    if (state === current) return
    current = state
    opts.onChange?.(state)
  }

  function state(): BreakerState {
    if (current === 'open' && now() - openedAt >= opts.cooldownMs) set('half_open')
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
        openedAt = now()
        set('open')
      }
    },
    neutral() {
      trialRunning = false
    },
  }
}
