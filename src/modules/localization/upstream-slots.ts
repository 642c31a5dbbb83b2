/**
 * At most `max` calls to the upstream at once; later ones wait their turn in order, and past
 * `maxWaiting` waiting calls a new one is refused at once (`busy`) rather than queued behind work
 * that will not finish within its caller's patience. A self-hosted LibreTranslate translates a few
 * requests at a time (`--threads`): more at once only makes every one of them slower, until they
 * all time out together and open the breaker.
 *
 * A wait is also bounded in time (`maxWaitMs`): with a slow (not dead) upstream the queue moves, but
 * a call far back in it would otherwise wait well past its caller's (or a load balancer's) timeout.
 * A call whose wait runs out leaves the queue (`timeout`) without taking a slot or running `fn`.
 */
export interface UpstreamSlots {
  /**
   * Runs `fn` in a slot, or refuses without running it: `busy` when too many are waiting,
   * `timeout` when no slot came free within `maxWaitMs` (0: only a slot free now).
   */
  run<T>(fn: () => Promise<T>, maxWaitMs: number): Promise<{ value: T } | { refused: 'busy' | 'timeout' }>
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
    async run(fn, maxWaitMs) {
      if (active >= max) {
        if (queue.length >= maxWaiting) return { refused: 'busy' }
        // The slot passes straight from the call that releases it, so `active` stays counted. A
        // call that gave up is no longer in the queue, so no slot ever passes to it; one handed a
        // slot has its timer cleared in the same turn, so it never gives up holding one.
        const granted = await new Promise<boolean>((resolve) => {
          let timer: NodeJS.Timeout | undefined
          const grant = () => {
            clearTimeout(timer)
            resolve(true)
          }
          queue.push(grant)
          timer = setTimeout(
            () => {
              const at = queue.indexOf(grant)
              if (at >= 0) queue.splice(at, 1)
              resolve(false)
            },
            Math.max(0, maxWaitMs),
          )
        })
        if (!granted) return { refused: 'timeout' }
      } else active++
      try {
        return { value: await fn() }
      } finally {
        release()
      }
    },
  }
}
