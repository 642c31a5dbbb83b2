import { setTimeout as sleep } from 'node:timers/promises'
import type { CircuitBreaker } from './breaker.js'
import { createUpstreamSlots } from './upstream-slots.js'

/**
 * LibreTranslate (or a proxy in front of it) refused our input: 400 (bad field, over its
 * `--char-limit` or `--batch-limit`), 413, 414 or 422. Retrying will not help.
 */
export class UpstreamRejectedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'UpstreamRejectedError'
  }
}

/** LibreTranslate could not answer (403, 429, other 4xx, 5xx, timeout, network, open circuit). */
export class UpstreamUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** When the upstream may be asked again (ms), when known: its `Retry-After`, an open circuit's rest. */
    readonly retryAfterMs?: number,
  ) {
    super(message)
    this.name = 'UpstreamUnavailableError'
  }
}

export interface UpstreamLanguage {
  code: string
  name: string
  targets: string[]
}

export interface Detection {
  language: string
  confidence: number
}

export interface UpstreamTranslation {
  texts: string[]
  /** Per string, when `source` was `auto`. */
  detected: Array<string | undefined>
}

/** The real LibreTranslate HTTP API: `POST /translate`, `GET /languages`, `POST /detect`. */
export interface LibreTranslateClient {
  translate(
    q: string[],
    source: string,
    target: string,
    format: 'text' | 'html',
  ): Promise<UpstreamTranslation>
  /**
   * `probe`: a health check's, which the circuit breaker neither refuses nor hears. A probe asks
   * `GET /languages`, not what callers' translations need: its failing must not open the circuit
   * for translations, nor its success close it (or take a half-open circuit's one trial) while
   * `/translate` fails. An open circuit is reported by the health check without a probe.
   */
  languages(options?: { probe?: boolean }): Promise<UpstreamLanguage[]>
  detect(q: string): Promise<Detection[]>
}

export interface ClientOptions {
  url: string
  apiKey?: string
  timeoutMs: number
  retries: number
  breaker: CircuitBreaker
  /** Longest wait between attempts; a longer `Retry-After` gives up at once. */
  maxBackoffMs?: number
  /** Calls in flight to the upstream at once (default 4); more wait their turn. */
  maxConcurrent?: number
  /** Calls that may wait for a slot (default 200); past that a call fails at once as busy. */
  maxWaiting?: number
  /**
   * How long one call may wait for slots in all, over its attempts (default `timeoutMs`); then it
   * fails as busy (`UpstreamSlotTimeoutError`) without asking the upstream.
   */
  maxSlotWaitMs?: number
  /** Called once per HTTP attempt with its outcome, for metrics. */
  onAttempt?: (outcome: string) => void
}

/** How soon a caller turned away by a full queue may try again (ms): the queue moves in that. */
export const BUSY_RETRY_AFTER_MS = 1000

/**
 * Too many translations are already waiting for the upstream on this node. Retryable soon: the
 * 503 says so (`Retry-After`, `details.retry_after_ms`), as the slot timeout's does.
 */
export class UpstreamBusyError extends UpstreamUnavailableError {
  constructor() {
    super('LibreTranslate is busy: too many translations are waiting for it', undefined, BUSY_RETRY_AFTER_MS)
  }
}

/**
 * No upstream slot came free within the call's wait budget: the upstream is slow and the calls
 * ahead fill it. `retryAfterMs` is that budget, the time the queue just took not to move enough.
 */
export class UpstreamSlotTimeoutError extends UpstreamUnavailableError {
  constructor(waitedMs: number) {
    super(
      `LibreTranslate is busy: no upstream slot came free within ${waitedMs} ms`,
      undefined,
      Math.max(1000, waitedMs),
    )
    this.name = 'UpstreamSlotTimeoutError'
  }
}

/**
 * Statuses that refuse the request for what it contains. They must not count towards opening the
 * circuit: one caller's oversized batch would otherwise refuse every caller's translations.
 */
const INPUT_REJECTED = new Set([400, 413, 414, 422])

/** `Retry-After` is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined
  const trimmed = header.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

export function createLibreTranslateClient(opts: ClientOptions): LibreTranslateClient {
  const base = opts.url.replace(/\/+$/, '')
  const slots = createUpstreamSlots(opts.maxConcurrent ?? 4, opts.maxWaiting ?? 200)
  const maxBackoff = opts.maxBackoffMs ?? 10_000
  const maxSlotWait = opts.maxSlotWaitMs ?? opts.timeoutMs

  const backoff = (attempt: number) =>
    Math.min(maxBackoff, 100 * 2 ** attempt + Math.floor(Math.random() * 50))

  /** What one attempt came to: the answer, or an error and whether another attempt may help. */
  type Outcome =
    | { done: true; value: unknown }
    | { done: false; error: Error; retry: boolean; waitMs?: number }

  const circuitOpen = (breaker: CircuitBreaker) =>
    new UpstreamUnavailableError('LibreTranslate circuit is open', undefined, breaker.retryAfterMs())

  /**
   * One HTTP attempt, run in a slot: the breaker hears its outcome before the slot passes to the
   * next call waiting, and that call, finding the circuit open, goes no further. Otherwise every
   * call queued behind a dead upstream would still ask it in turn, one timeout each, long after
   * the circuit opened.
   */
  async function attemptOnce(
    method: 'GET' | 'POST',
    path: string,
    body: Record<string, unknown> | undefined,
    problem: (answer: unknown) => string | undefined,
    breaker: CircuitBreaker | null,
  ): Promise<Outcome> {
    if (breaker && breaker.state() === 'open')
      return { done: false, error: circuitOpen(breaker), retry: false }
    let res: Response
    let text: string
    try {
      // The deadline starts with the call itself, not while it waits for a slot.
      res = await fetch(`${base}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : {},
        body: body ? JSON.stringify(opts.apiKey ? { ...body, api_key: opts.apiKey } : body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs),
      })
      text = await res.text()
    } catch (err) {
      breaker?.failure()
      opts.onAttempt?.((err as Error).name === 'TimeoutError' ? 'timeout' : 'network')
      const error = new UpstreamUnavailableError(`LibreTranslate unreachable: ${(err as Error).message}`)
      return { done: false, error, retry: true }
    }
    opts.onAttempt?.(res.ok ? 'ok' : String(res.status))
    if (res.ok) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        breaker?.failure()
        const error = new UpstreamUnavailableError('LibreTranslate answered something that is not JSON')
        return { done: false, error, retry: false }
      }
      const wrong = problem(parsed)
      if (wrong !== undefined) {
        breaker?.failure()
        return { done: false, error: new UpstreamUnavailableError(wrong), retry: false }
      }
      breaker?.success()
      return { done: true, value: parsed }
    }
    const message = errorMessage(text) ?? `HTTP ${res.status}`
    if (INPUT_REJECTED.has(res.status)) {
      // Not a success either: a proxy may answer 413 for an upstream that is down.
      breaker?.neutral()
      return { done: false, error: new UpstreamRejectedError(message, res.status), retry: false }
    }
    // 429 counts: the upstream is overloaded for everyone, and LibreTranslate bans (403) a
    // caller that keeps exceeding its limit, so backing off together is the point.
    breaker?.failure()
    const error = new UpstreamUnavailableError(`LibreTranslate ${res.status}: ${message}`, res.status)
    // 403 (bad key, banned) and other 4xx will not get better by retrying.
    if (res.status !== 429 && res.status < 500) return { done: false, error, retry: false }
    const asked = retryAfterMs(res.headers.get('retry-after'))
    if (asked !== undefined && asked > maxBackoff) {
      // Longer than a caller waits. Every other caller on this node would ask again meanwhile,
      // each a fresh violation of its limit (LibreTranslate bans a client that keeps exceeding
      // it): the circuit stays open until the time it named.
      breaker?.holdOpen(asked)
      const held = new UpstreamUnavailableError(error.message, res.status, breaker?.retryAfterMs() ?? asked)
      return { done: false, error: held, retry: false }
    }
    // Kept on the error: when the retries run out, the caller's 503 says when to come back, as the
    // upstream did, rather than nothing (and a client asking again at once, over the limit).
    const retryable = new UpstreamUnavailableError(error.message, res.status, asked)
    return { done: false, error: retryable, retry: true, waitMs: asked }
  }

  /**
   * One upstream call, retried and guarded by the breaker (`breaker` null: a health probe's,
   * unguarded and uncounted). `problem` names what is wrong with a 200's body (undefined:
   * nothing): such an answer is a failure for the breaker, as an error is.
   */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: Record<string, unknown> | undefined,
    problem: (answer: unknown) => string | undefined,
    breaker: CircuitBreaker | null = opts.breaker,
  ): Promise<unknown> {
    let lastError: Error = new UpstreamUnavailableError('LibreTranslate was not called')
    /** What is left of the call's time for waiting for slots, over all its attempts. */
    let waitBudget = maxSlotWait
    for (let attempt = 0; attempt <= opts.retries; attempt++) {
      // A half-open circuit lets one trial through: this call, when `allow` says yes now.
      const trial = breaker?.state() === 'half_open'
      if (breaker && !breaker.allow()) throw circuitOpen(breaker)
      const queuedAt = Date.now()
      const answered = await slots.run(() => {
        waitBudget -= Date.now() - queuedAt
        return attemptOnce(method, path, body, problem, breaker)
      }, waitBudget)
      if ('refused' in answered) {
        // Nothing was asked of the upstream, so nothing for the breaker, but a trial must end: one
        // left running kept the circuit half-open, refusing every call on the node for good.
        if (trial && breaker?.state() === 'half_open') breaker.neutral()
        if (answered.refused === 'busy') {
          // Our own queue is full.
          opts.onAttempt?.('busy')
          throw new UpstreamBusyError()
        }
        opts.onAttempt?.('slot_timeout')
        throw new UpstreamSlotTimeoutError(maxSlotWait)
      }
      const outcome = answered.value
      if (outcome.done) return outcome.value
      if (!outcome.retry) throw outcome.error
      lastError = outcome.error
      if (attempt < opts.retries) await sleep(outcome.waitMs ?? backoff(attempt))
    }
    throw lastError
  }

  return {
    async translate(q, source, target, format) {
      type Answer = { translatedText?: unknown; detectedLanguage?: unknown }
      const textsOf = (res: unknown): unknown[] => {
        const t = (typeof res === 'object' && res !== null ? res : {}) as Answer
        return Array.isArray(t.translatedText) ? t.translatedText : [t.translatedText]
      }
      const res = await call('POST', '/translate', { q, source, target, format }, (answer) => {
        const texts = textsOf(answer)
        return texts.length !== q.length || texts.some((t) => typeof t !== 'string')
          ? 'LibreTranslate answered something that is not a translation of each string'
          : undefined
      })
      const body = res as Answer
      const texts = textsOf(res)
      const language = (d: unknown) =>
        typeof (d as Detection | null)?.language === 'string' ? (d as Detection).language : undefined
      const det = body.detectedLanguage
      const detected = Array.isArray(det) ? q.map((_, i) => language(det[i])) : q.map(() => language(det))
      return { texts: texts as string[], detected }
    },
    async languages(options) {
      const list = (await call(
        'GET',
        '/languages',
        undefined,
        // A list naming no language (`[]` from an instance still loading its models, entries of
        // another API's shape) is no list: taken as one, it refused every language by name for as
        // long as it was cached, though `/translate` answered.
        (answer) =>
          !Array.isArray(answer)
            ? 'LibreTranslate answered a language list that is not a list'
            : answer.some((l) => typeof (l as Partial<UpstreamLanguage> | null)?.code === 'string')
              ? undefined
              : 'LibreTranslate answered a language list naming no language',
        options?.probe ? null : opts.breaker,
      )) as Array<Partial<UpstreamLanguage> | null>
      // Entries of another shape are skipped rather than passed on to callers.
      return list.flatMap((l: Partial<UpstreamLanguage> | null) =>
        typeof l?.code === 'string'
          ? [
              {
                code: l.code,
                name: typeof l.name === 'string' ? l.name : l.code,
                targets: Array.isArray(l.targets) ? l.targets.filter((t) => typeof t === 'string') : [],
              },
            ]
          : [],
      )
    },
    detect: async (q) =>
      (await call('POST', '/detect', { q }, (answer) =>
        Array.isArray(answer) ? undefined : 'LibreTranslate answered a detection that is not a list',
      )) as Detection[],
  }
}

function errorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : undefined
  } catch {
    // A proxy's HTML error page would only clutter the message callers see.
    return text && !text.trimStart().startsWith('<') ? text.slice(0, 200) : undefined
  }
}
