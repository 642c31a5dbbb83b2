import { createClient, isOvasabiError, type OvasabiClient } from '../../../client/index.js'

const TOKEN_KEY = 'ovasabi.token'
const USER_KEY = 'ovasabi.user'

export interface StoredUser {
  id: string
  name: string
  referral_code?: string
  referral_link?: string
}

/** The page's client, talking to the server that served it. */
export function pageClient(): OvasabiClient {
  return createClient({ baseUrl: '', token: readToken() })
}

function readToken(): string | undefined {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? undefined
  } catch {
    return undefined
  }
}

/** A JWT's `exp` (seconds), read without verifying: only to decide whether to ask for a new one. */
function expiresAt(token: string): number {
  try {
    const part = token.split('.')[1] ?? ''
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    return Number(json.exp) || 0
  } catch {
    return 0
  }
}

/** A guest session being started, per client: every caller waiting for one gets the same. */
const starting = new WeakMap<OvasabiClient, Promise<void>>()

/**
 * Use the stored token while it has a minute left; otherwise start a new guest session. Callers
 * that ask while one is being started (the page loading its campaign, a language switch in the
 * first moment) wait for that one instead of each starting their own.
 */
export function ensureSession(client: OvasabiClient): Promise<void> {
  const token = client.token
  if (token && expiresAt(token) * 1000 > Date.now() + 60_000) return Promise.resolve()
  const pending = starting.get(client)
  if (pending) return pending
  const started = (async () => {
    forgetUser()
    const s = await client.createSession()
    saveToken(s.token)
  })().finally(() => starting.delete(client))
  starting.set(client, started)
  return started
}

/**
 * The server refused the stored token (401: its person was erased, the signing key changed):
 * forget it and the person it named, and continue as a new guest rather than a broken page.
 */
export async function renewSession(client: OvasabiClient): Promise<void> {
  forgetUser()
  const s = await client.createSession()
  saveToken(s.token)
}

/** True for an answer that says the credential, not the request, is the problem. */
export function credentialRefused(err: unknown): boolean {
  return isOvasabiError(err) && err.status === 401
}

export function saveToken(token: string): void {
  try {
    localStorage.setItem(TOKEN_KEY, token)
  } catch {
    // private mode: the session simply lasts as long as the tab
  }
}

export function loadUser(): StoredUser | undefined {
  try {
    const raw = localStorage.getItem(USER_KEY)
    return raw ? (JSON.parse(raw) as StoredUser) : undefined
  } catch {
    return undefined
  }
}

export function saveUser(user: StoredUser): void {
  try {
    localStorage.setItem(USER_KEY, JSON.stringify(user))
  } catch {
    // see saveToken
  }
}

function forgetUser(): void {
  try {
    localStorage.removeItem(USER_KEY)
  } catch {
    // see saveToken
  }
}
