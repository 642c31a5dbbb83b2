import { useCallback, useEffect, useState } from 'preact/hooks'
import { createClient, OvasabiError, type OvasabiClient } from '../../../client/index.js'

const KEY = 'ovasabi.admin.apiKey'

export function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined
  } catch {
    return undefined
  }
}

export function storeKey(key: string | undefined): void {
  try {
    if (key) sessionStorage.setItem(KEY, key)
    else sessionStorage.removeItem(KEY)
  } catch {
    // no storage: the key lives as long as the page
  }
}

/**
 * The console's client. `onRefused` runs when the server answers 401: the key itself is refused
 * (revoked, or the server's keys changed), so no screen of the console can work with it.
 */
export const adminClient = (apiKey: string, onRefused?: () => void): OvasabiClient =>
  createClient({
    baseUrl: '',
    apiKey,
    fetch: async (input, init) => {
      const res = await globalThis.fetch(input, init)
      if (res.status === 401) onRefused?.()
      return res
    },
  })

export type Loadable<T> =
  | { state: 'loading' }
  | { state: 'ready'; data: T }
  | { state: 'unavailable' }
  | { state: 'error'; error: OvasabiError }

/** Load once (and on `reload()`); a 404/feature-disabled route becomes `unavailable`, not an error. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): [Loadable<T>, () => void] {
  const [value, setValue] = useState<Loadable<T>>({ state: 'loading' })
  const [n, setN] = useState(0)
  useEffect(() => {
    let stop = false
    fn().then(
      (data) => !stop && setValue({ state: 'ready', data }),
      (err) => {
        if (stop) return
        const e = err instanceof OvasabiError ? err : new OvasabiError('ERROR', String(err))
        setValue(e.unavailable ? { state: 'unavailable' } : { state: 'error', error: e })
      },
    )
    return () => {
      stop = true
    }
  }, [...deps, n])
  return [value, useCallback(() => setN((x) => x + 1), [])]
}

export function errorText(err: unknown): string {
  if (err instanceof OvasabiError) return `${err.code}: ${err.message}`
  return String(err)
}
