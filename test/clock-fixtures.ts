/**
 * Runs `work` as on a node whose clock is `offsetMs` off: `Date.now()` and `new Date()` alike
 * (a `Date` built from a value is left as given). For tests of deployments whose nodes' clocks
 * differ; never for timing.
 */
export async function onClock<T>(offsetMs: number, work: () => Promise<T>): Promise<T> {
  const Real = Date
  class Skewed extends Real {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(Real.now() + offsetMs)
      else super(...(args as [string]))
    }
    static override now() {
      return Real.now() + offsetMs
    }
  }
  globalThis.Date = Skewed as DateConstructor
  try {
    return await work()
  } finally {
    globalThis.Date = Real
  }
}
