import type { AmadeusService } from './amadeus.service.js'

export interface SnapshotScheduler {
  /** Takes the start-up snapshot, then one after each burst of campaign changes. */
  start(): Promise<void>
  /** Called for every campaign change; changes within `debounceMs` share one snapshot. */
  campaignChanged(): void
  /** Waits for a snapshot in progress and cancels a pending one. */
  stop(): Promise<void>
  /** Resolves when no snapshot is pending or running (tests wait on it). */
  idle(): Promise<void>
}

/**
 * Snapshots are cheap when nothing changed (a hash comparison), but a bulk edit of fifty
 * campaigns should still cost one graph build, not fifty: changes are debounced.
 */
export function createSnapshotScheduler(deps: {
  amadeus: Pick<AmadeusService, 'snapshot' | 'recording'>
  onError: (err: unknown) => void
  debounceMs?: number
}): SnapshotScheduler {
  const debounceMs = deps.debounceMs ?? 250
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  let waiters: Array<() => void> = []

  const settleIfIdle = () => {
    if (timer) return
    const w = waiters
    waiters = []
    for (const resolve of w) resolve()
  }

  function run(reason: string): Promise<void> {
    running = running
      .then(() => (deps.amadeus.recording() ? deps.amadeus.snapshot(reason) : undefined))
      .then(
        () => {},
        (err) => deps.onError(err),
      )
      .finally(settleIfIdle)
    return running
  }

  return {
    start: () => run('start'),
    campaignChanged() {
      if (stopped) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        timer = undefined
        void run('campaign_change')
      }, debounceMs)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      await running
      settleIfIdle()
    },
    idle() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve)
        void running.then(settleIfIdle)
      })
    },
  }
}
