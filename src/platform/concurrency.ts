/**
 * Runs `task` over `items`, at most `limit` at once, starting them in order; resolves once every
 * task ended. A task handles its own failures: one that rejects rejects the whole call.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await task(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * Work begun after its caller was answered (a mail, say): `run` starts it, a failure goes to
 * `onError`, and `idle` resolves once everything started so far has ended, which a shutdown waits
 * for before closing what the work uses.
 */
export function backgroundWork(onError?: (err: unknown) => void) {
  const pending = new Set<Promise<void>>()
  return {
    run(work: Promise<void>): void {
      const done = work.catch((err) => onError?.(err))
      pending.add(done)
      void done.finally(() => pending.delete(done))
    },
    async idle(): Promise<void> {
      await Promise.all(pending)
    },
  }
}
