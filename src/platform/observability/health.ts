import { within } from '../within.js'

/** State of one dependency as `/health` reports it. */
export interface DependencyHealth {
  status: 'up' | 'down' | 'disabled'
  /**
   * Whether `/health/ready` (and `/health`) answer 503 while this one is down: only what this node
   * can serve no request without (its database). Redis is not: every node shares it and REST works
   * without it, and failing readiness over it would take all nodes out of the balancer at once.
   */
  critical: boolean
  latency_ms?: number
  details?: string
}

/**
 * One check. A result may say `critical` itself, overriding the registration's: a dependency whose
 * failure is this node's own (so the balancer should move its traffic) or shared by every node
 * (which readiness must not fail all at once over) may tell which it is seeing.
 */
export type HealthCheck = () => Promise<
  Omit<DependencyHealth, 'critical' | 'latency_ms'> & { critical?: boolean }
>

export interface CheckOptions {
  critical: boolean
  /**
   * Answer within this many ms, without waiting for the check itself: it runs in the background
   * (one run at a time, shared by every caller, with the run's full timeout), and a caller that
   * would wait longer gets `down`, "no answer within …". For a dependency that can stall
   * (connected, silent) and must not hold a probe: Kubernetes gives a probe 1 s by default, and
   * probes that each start a check of their own pile up on it.
   */
  answerWithinMs?: number
}

type Result = Omit<DependencyHealth, 'critical'> & { critical?: boolean }

interface Entry {
  check: HealthCheck
  options: CheckOptions
  /** The check running in the background (`answerWithinMs`). */
  inFlight?: Promise<Result>
}

/** Named dependency checks (`database`, `redis`, `translation`, …) run on each `/health` call. */
export class HealthRegistry {
  private readonly checks = new Map<string, Entry>()

  register(name: string, check: HealthCheck, options: CheckOptions = { critical: true }): void {
    this.checks.set(name, { check, options })
  }

  /** Registered check names, without running them (Amadeus puts the named externals in its graph). */
  names(): string[] {
    return [...this.checks.keys()]
  }

  async run(timeoutMs = 2000): Promise<Record<string, DependencyHealth>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, entry]) => {
        const { critical, answerWithinMs } = entry.options
        if (answerWithinMs === undefined)
          return [name, withCritical(await timed(entry.check, timeoutMs), critical)]
        if (!entry.inFlight) {
          const result = timed(entry.check, timeoutMs)
          entry.inFlight = result
          void result.then(() => {
            entry.inFlight = undefined
          })
        }
        const answered = await within(entry.inFlight, answerWithinMs)
        if (answered) return [name, withCritical(answered, critical)]
        const details = `no answer within ${answerWithinMs} ms (a check is running)`
        return [name, { status: 'down' as const, critical, details }]
      }),
    )
    return Object.fromEntries(entries)
  }
}

/** A result with its `critical`: its own when it said one, else the registration's. */
function withCritical(result: Result, registered: boolean): DependencyHealth {
  return { ...result, critical: result.critical ?? registered }
}

/** One run of `check`, timed, bounded by `timeoutMs`; a failure or timeout is `down`. Never rejects. */
async function timed(check: HealthCheck, timeoutMs: number): Promise<Result> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    const result = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    return { ...result, latency_ms: Math.round(performance.now() - started) }
  } catch (err) {
    return { status: 'down', details: (err as Error).message }
  } finally {
    clearTimeout(timer)
  }
}
