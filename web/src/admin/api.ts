import { useCallback, useEffect, useState } from 'preact/hooks'
import { createClient, OvasabiError, type OvasabiClient } from '../../../client/index.js'

const KEY = 'ovasabi.admin.apiKey'
const TOKEN = 'ovasabi.admin.token'

/**
 * What the console signs in with: an API key, or a person's token from their email and password
 * (their role, editor or admin, is what the server honours). Either is kept for this tab only.
 */
export type Credential = { kind: 'key'; key: string } | { kind: 'token'; token: string; expiresAt?: string }

function read(name: string): string | undefined {
  try {
    return sessionStorage.getItem(name) ?? undefined
  } catch {
    return undefined
  }
}

function write(name: string, value: string | undefined): void {
  try {
    if (value) sessionStorage.setItem(name, value)
    else sessionStorage.removeItem(name)
  } catch {
    // no storage: the credential lives as long as the page
  }
}

export function storedKey(): string | undefined {
  return read(KEY)
}

export function storeKey(key: string | undefined): void {
  write(KEY, key)
}

/** The tab's credential: a person's token (with its expiry) or an API key; undefined when signed out. */
export function storedCredential(): Credential | undefined {
  const token = read(TOKEN)
  if (token) {
    const expiresAt = read(`${TOKEN}.expires`)
    return { kind: 'token', token, ...(expiresAt ? { expiresAt } : {}) }
  }
  const key = read(KEY)
  return key ? { kind: 'key', key } : undefined
}

/** Keeps `credential` for the tab, forgetting any other (undefined: sign out). */
export function storeCredential(credential: Credential | undefined): void {
  write(KEY, credential?.kind === 'key' ? credential.key : undefined)
  write(TOKEN, credential?.kind === 'token' ? credential.token : undefined)
  write(`${TOKEN}.expires`, credential?.kind === 'token' ? credential.expiresAt : undefined)
}

/** Whether roles (from `GET /api/auth/me`) may use the console: an editor's or an admin's. */
export const mayUseConsole = (roles: readonly string[]): boolean =>
  roles.includes('admin') || roles.includes('editor')

/**
 * The console's client. `onRefused` runs when the server answers 401: the credential itself is
 * refused (a key revoked, or a person's token expired, signed out or cut off by a lowered role),
 * so no screen of the console can work with it.
 */
export const adminClient = (credential: string | Credential, onRefused?: () => void): OvasabiClient => {
  const c: Credential = typeof credential === 'string' ? { kind: 'key', key: credential } : credential
  return createClient({
    baseUrl: '',
    ...(c.kind === 'key' ? { apiKey: c.key } : { token: c.token }),
    fetch: async (input, init) => {
      // The token this request carries: a refusal of one replaced since (a renewal, a password
      // change or a sign-out everywhere else, which cut off every older token of the person) is not
      // the sign-in's.
      const sent = c.kind === 'token' ? c.token : undefined
      const res = await globalThis.fetch(input, init)
      // The StreamSource registry (`/api/v1`) takes a person's token as every other route does:
      // its 401 refuses the sign-in too.
      if (res.status === 401 && (c.kind !== 'token' || sent === c.token)) onRefused?.()
      return res
    },
  })
}

/** A client with no credential: what signs a person in. */
export const signInClient = (): OvasabiClient => createClient({ baseUrl: '' })

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
