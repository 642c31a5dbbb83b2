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
