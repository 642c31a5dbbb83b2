/**
 * Polls `check` until it gives a truthy value and returns that value; throws naming `what` when
 * none came within `ms`. Deadlines are generous on purpose: they bound a failing test on a loaded
 * host, they never measure anything.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what = 'a condition',
  ms = 30_000,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value as Exclude<T, undefined | null | false | 0 | ''>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
