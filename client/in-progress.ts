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

/** The wait a REST refusal asks for: `Retry-After`, else `details.retry_after_ms`. */
export function retryHintMs(err: unknown): number | undefined {
  if (!(err instanceof OvasabiError)) return undefined
  if (err.retryAfter !== undefined) return err.retryAfter * 1000
  const hinted = (err.details as { retry_after_ms?: unknown } | undefined)?.retry_after_ms
  return typeof hinted === 'number' ? hinted : undefined
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Sends a keyed call again, as it was (same key), while the server answers `REQUEST_IN_PROGRESS`
 * (a retry after a dropped answer, the first run on another node): it resolves with that run's
 * answer once it is done. `what` names the call (`POST /api/…`) in the error of an abort.
 */
export async function sendWhileInProgress<R>(
  send: () => Promise<R>,
  opts: { what: string; key: string; signal?: AbortSignal },
): Promise<R> {
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await send()
    } catch (err) {
      const wait = inProgressWait(err, attempt, started, retryHintMs(err))
      if (wait === undefined || opts.signal?.aborted) throw err
      await pause(wait, opts.signal)
      // As an abort during the request itself is told: the caller stopped it, the server did not
      // refuse it. Its key (with the 409 as `cause`) still lets a later retry join that run.
      if (opts.signal?.aborted)
        throw new OvasabiError(
          'ABORTED',
          `${opts.what}: aborted while the first run of ${opts.key} went on`,
          {
            requestId: opts.key,
            cause: err,
          },
        )
    }
  }
}
