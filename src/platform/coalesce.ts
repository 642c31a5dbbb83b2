/**
 * Coalesces concurrent calls into batched ones: the first call runs at once (a batch of one, no
 * added latency), and calls made while a batch is in flight wait and run together as the next
 * batch. Under load, batches grow by themselves to whatever arrived during one round trip, so N
 * concurrent callers cost a few statements instead of N. `run` answers each item, in order.
 *
 * Unlike a per-tick DataLoader, nothing waits for a timer or a tick boundary, and nothing is
 * cached: every call sees a database read made after it was called.
 */
export function coalesce<T, R>(
  run: (items: T[]) => Promise<R[]>,
  options: { maxBatch?: number; concurrency?: number } = {},
): (item: T) => Promise<R> {
  const maxBatch = options.maxBatch ?? 500
  const concurrency = options.concurrency ?? 1
  const queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = []
  let running = 0

  function pump() {
    while (running < concurrency && queue.length > 0) {
      const batch = queue.splice(0, maxBatch)
      running++
      new Promise<R[]>((r) => r(run(batch.map((b) => b.item))))
        .then(
          (results) => {
            for (const [i, b] of batch.entries()) b.resolve(results[i]!)
          },
          (err) => {
            for (const b of batch) b.reject(err)
          },
        )
        .finally(() => {
          running--
          pump()
        })
    }
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      pump()
    })
}
