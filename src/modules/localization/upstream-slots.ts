/**
 * At most `max` calls to the upstream at once; later ones wait their turn in order, and past
 * `maxWaiting` waiting calls a new one is refused at once (`undefined`) rather than queued behind
 * work that will not finish within its caller's patience. A self-hosted LibreTranslate translates
 * a few requests at a time (`--threads`): more at once only makes every one of them slower, until
 * they all time out together and open the breaker.
 */
export interface UpstreamSlots {
  /** Runs `fn` in a slot, or returns `undefined` without running it when too many are waiting. */
  run<T>(fn: () => Promise<T>): Promise<{ value: T } | undefined>
}

export function createUpstreamSlots(max: number, maxWaiting: number): UpstreamSlots {
  let active = 0
  const queue: Array<() => void> = []
  const release = () => {
    const next = queue.shift()
    if (next) next()
    else active--
  }
  return {
    async run(fn) {
      if (active >= max) {
        if (queue.length >= maxWaiting) return undefined
        // The slot passes straight from the call that releases it, so `active` stays counted.
        await new Promise<void>((resolve) => queue.push(resolve))
      } else active++
      try {
        return { value: await fn() }
      } finally {
        release()
      }
    },
  }
}
