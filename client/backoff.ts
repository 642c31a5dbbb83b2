// When a real-time connection tries again: after a drop, and after a server restart.
import type { BackoffOptions } from './realtime-options.js'

/** Delay before reconnect attempt `attempt` (0-based): exponential ceiling, "equal jitter". */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random) {
  const initial = opts.initialMs ?? 500
  const ceiling = Math.min(opts.maxMs ?? 30_000, initial * (opts.factor ?? 2) ** attempt)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/**
 * Close codes of a server going away as a whole (1012 service restart, 1001 going away): every
 * socket of the node gets one at the same moment.
 */
export function isRestartClose(code: number): boolean {
  return code === 1012 || code === 1001
}

/**
 * Delay before the first retry after a server restart: "full jitter" over `restartWindowMs`
 * (default 5 000, at most `maxMs`), as centrifuge-js and Socket.IO's `randomizationFactor` spread
 * theirs. A node's clients then come back at an even rate over the window (on average half of
 * it), not all within the same few hundred milliseconds.
 */
export function restartDelay(opts: BackoffOptions = {}, random: () => number = Math.random) {
  const window = Math.max(0, Math.min(opts.maxMs ?? 30_000, opts.restartWindowMs ?? 5_000))
  return Math.round(Math.min(1, Math.max(0, random())) * window)
}
