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

export type HealthCheck = () => Promise<Omit<DependencyHealth, 'critical' | 'latency_ms'>>

/** Named dependency checks (`database`, `redis`, `translation`, …) run on each `/health` call. */
export class HealthRegistry {
  private readonly checks = new Map<string, { check: HealthCheck; critical: boolean }>()

  register(name: string, check: HealthCheck, options: { critical: boolean } = { critical: true }): void {
    this.checks.set(name, { check, critical: options.critical })
  }

  /** Registered check names, without running them (Amadeus puts the named externals in its graph). */
  names(): string[] {
    return [...this.checks.keys()]
  }

  async run(timeoutMs = 2000): Promise<Record<string, DependencyHealth>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, { check, critical }]) => {
        const started = performance.now()
        let timer: NodeJS.Timeout | undefined
        try {
          const result = await Promise.race([
            check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
            }),
          ])
          return [name, { ...result, critical, latency_ms: Math.round(performance.now() - started) }] as const
        } catch (err) {
          return [name, { status: 'down' as const, critical, details: (err as Error).message }] as const
        } finally {
          clearTimeout(timer)
        }
      }),
    )
    return Object.fromEntries(entries)
  }
}
