import { OvasabiError } from './errors.js'

/**
 * How often, and for how long, an action answered `REQUEST_IN_PROGRESS` is sent again. The budget
 * outlasts the server's takeover of a claim whose process died (60 s), so a retry then runs it.
 */
export const IN_PROGRESS_RETRY = { attempts: 8, budgetMs: 75_000, defaultWaitMs: 1000, maxWaitMs: 10_000 }

/**
 * The wait before sending an action again with the same request_id, which the server answered
 * `REQUEST_IN_PROGRESS` (its first run still going on) asking for `hintMs`; undefined when it must
 * not be (another error, `attempt` the last one, the budget since `started` used up).
 */
export function inProgressWait(
  err: unknown,
  attempt: number,
  started: number,
  hintMs: number | undefined,
): number | undefined {
  if (!(err instanceof OvasabiError) || err.code !== 'REQUEST_IN_PROGRESS') return undefined
  if (attempt >= IN_PROGRESS_RETRY.attempts) return undefined
  const asked = hintMs !== undefined && Number.isFinite(hintMs) ? hintMs : IN_PROGRESS_RETRY.defaultWaitMs
  const wait = Math.min(IN_PROGRESS_RETRY.maxWaitMs, Math.max(0, asked))
  return Date.now() + wait - started > IN_PROGRESS_RETRY.budgetMs ? undefined : wait
}
