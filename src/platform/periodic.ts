/**
 * Runs `task` once when started, then every `intervalMs`, one run at a time (a run still going
 * when the next is due is not doubled); `stop` waits for a run under way. Failures go to
 * `onError` and the next run goes on. For the sweeps each node runs (media, translation cache).
 */
export function createPeriodic(
  task: () => Promise<unknown>,
  onError: (err: unknown) => void,
  intervalMs: number,
) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  const run = () => {
    running ??= task()
      .then(
        () => {},
        (err) => onError(err),
      )
      .finally(() => {
        running = undefined
      })
    return running
  }
  return {
    async start() {
      stopped = false
      await run()
      // Stopped during the first run: no interval outlives `stop`.
      if (stopped || timer) return
      timer = setInterval(() => void run(), intervalMs)
      timer.unref()
    },
    async stop() {
      stopped = true
      clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
