/**
 * Resolves `undefined` after `ms` unless `promise` settles first (a rejection passes through):
 * for a wait that must not outlast a deadline while the work itself goes on.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
