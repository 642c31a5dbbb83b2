import { useRef, useState } from 'preact/hooks'

/**
 * One call of a form's at a time: a double click, or Enter pressed twice, sent the same change
 * twice (an endpoint added twice, a save refused as a conflict with itself). `run(task)` runs it
 * unless one is on its way, `pending` true meanwhile (the buttons show it); `busy()` reads it at
 * once, for what comes before (a check of the form, a `confirm`), as a state would only next render.
 */
export function useOneAtATime() {
  const [pending, setPending] = useState(false)
  const busy = useRef(false)
  /** The task's answer; `undefined` when another was on its way and this one was not run. */
  async function run<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (busy.current) return undefined
    busy.current = true
    setPending(true)
    try {
      return await task()
    } finally {
      busy.current = false
      setPending(false)
    }
  }
  return { pending, busy: () => busy.current, run }
}
