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

/** At most this many field issues in one message: a long list would bury the first. */
const MAX_ISSUES = 3
const MAX_ISSUE_CHARS = 200

/** `body/metadata/custom_rules/max_cursors` → `metadata.custom_rules.max_cursors`. */
function fieldName(path: string): string {
  const segments = path.split('/').filter(Boolean)
  if (['body', 'querystring', 'params', 'headers', 'payload'].includes(segments[0] ?? '')) segments.shift()
  return segments.join('.')
}

/**
 * One line for a notice: the code and message, then the fields the server named in `details`
 * (a validation failure's message alone says only that the body is invalid, not where).
 */
export function errorText(err: unknown): string {
  if (!(err instanceof OvasabiError)) return String(err)
  const head = `${err.code}: ${err.message}`
  const issues = (Array.isArray(err.details) ? (err.details as unknown[]) : []).filter(
    (d): d is { path?: unknown; message: string } =>
      typeof d === 'object' && d !== null && typeof (d as { message?: unknown }).message === 'string',
  )
  if (issues.length === 0) return head
  const shown = issues.slice(0, MAX_ISSUES).map((d) => {
    const field = fieldName(typeof d.path === 'string' ? d.path : '')
    const text = field ? `${field} ${d.message}` : d.message
    return text.length > MAX_ISSUE_CHARS ? `${text.slice(0, MAX_ISSUE_CHARS)}…` : text
  })
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : ''
  return `${head}: ${shown.join('; ')}${more}`
}
