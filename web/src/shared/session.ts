import { createClient, isOvasabiError, type OvasabiClient } from '../../../client/index.js'

const TOKEN_KEY = 'ovasabi.token'
const USER_KEY = 'ovasabi.user'

export interface StoredUser {
  id: string
  name: string
  /** The referral code to show: `memberOf` sets the campaign's (an entry stored before `codes` holds its one). */
  referral_code?: string
  referral_link?: string
  /**
   * Each campaign joined from this browser and its membership's referral code (each campaign's
   * join gives its own; '' when it gave none). Absent in an entry stored before codes were kept
   * per campaign.
   */
  codes?: Record<string, string>
  /**
   * The address a join from this browser mailed a link to confirm (the campaign's
   * `verify_email_at_join`), until the page learns it is confirmed: a reload still says where the
   * link went and offers to send it again.
   */
  confirming?: string
}

/**
 * The stored person as a member of `campaign`, with that campaign's referral code; undefined when
 * they have not joined it from this browser (its page offers its join form). An entry stored before
 * codes were kept per campaign is shown as it was.
 */
export function memberOf(user: StoredUser | undefined, campaign: string): StoredUser | undefined {
  if (!user?.codes) return user
  // Own keys only: a campaign may be called `constructor`.
  const code = Object.hasOwn(user.codes, campaign) ? user.codes[campaign] : undefined
  if (typeof code !== 'string') return undefined
  return {
    id: user.id,
    name: user.name,
    codes: user.codes,
    ...(code ? { referral_code: code } : {}),
    ...(user.confirming ? { confirming: user.confirming } : {}),
  }
}

/**
 * The stored person after a join of `campaign`: the same person keeps the campaigns they joined
 * before; another person (someone else joined on this browser) starts afresh.
 */
export function withMembership(
  before: StoredUser | undefined,
  campaign: string,
  joined: { id: string; name: string; referral_code?: string; confirming?: string },
): StoredUser {
  const same = before?.id === joined.id
  const codes = same ? { ...before.codes } : {}
  codes[campaign] = joined.referral_code ?? ''
  const confirming = joined.confirming ?? (same ? before.confirming : undefined)
  return { id: joined.id, name: joined.name, codes, ...(confirming ? { confirming } : {}) }
}

/**
 * The stored person, their address confirmed: no longer `confirming`. Undefined when the stored
 * person is not `id` or was not waiting.
 */
export function addressConfirmed(id: string): StoredUser | undefined {
  const stored = loadUser()
  if (stored?.id !== id || !stored.confirming) return undefined
  const { confirming: _, ...rest } = stored
  saveUser(rest)
  return rest
}

/**
 * The stored person without `confirming` when the server says the address is confirmed by now (a
 * link opened in another browser, or on this page), for the client's own person token; undefined
 * when it is not, or the page cannot tell (a guest's token, a refusal, the network), and goes on
 * offering the link.
 */
export async function settleConfirming(client: OvasabiClient): Promise<StoredUser | undefined> {
  const stored = loadUser()
  if (!stored?.confirming || sessionUserId(client) !== stored.id) return undefined
  try {
    const me = await client.auth.me()
    if (me.user?.id !== stored.id) return undefined
    // An address changed since is not this browser's link to confirm any more either.
    if (me.user.email_verified_at === null && me.user.email === stored.confirming) return undefined
  } catch {
    return undefined
  }
  return addressConfirmed(stored.id)
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

/** A JWT's claims, read without verifying: only to decide what to ask for and show. */
function claims(token: string): { exp?: unknown; user_id?: unknown } {
  try {
    const part = token.split('.')[1] ?? ''
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) ?? {}
  } catch {
    return {}
  }
}

/** A JWT's `exp` (seconds): whether to ask for a new one. */
const expiresAt = (token: string): number => Number(claims(token).exp) || 0

/** The token is good for a minute more (else `ensureSession` starts a new one). */
const usable = (token: string | undefined): token is string =>
  token !== undefined && expiresAt(token) * 1000 > Date.now() + 60_000

/**
 * The person the client's session is, when it is a person's (their join's token, still good);
 * undefined for a guest's. A visitor who joined keeps their stored name and link after that token
 * expired, but the page is then a guest's: its socket and what only a person may do go by this.
 */
export function sessionUserId(client: OvasabiClient): string | undefined {
  const token = client.token
  if (!usable(token)) return undefined
  const id = claims(token).user_id
  return typeof id === 'string' && id !== 'guest' ? id : undefined
}

/** A guest session being started, per client: every caller waiting for one gets the same. */
const starting = new WeakMap<OvasabiClient, Promise<void>>()

/**
 * Use the stored token while it has a minute left; otherwise start a new guest session. Callers
 * that ask while one is being started (the page loading its campaign, a language switch in the
 * first moment) wait for that one instead of each starting their own.
 *
 * The person stored by a join is kept when their token merely expired (a visit a day later): their
 * name and referral link are still theirs, and joining again from a new session is refused
 * (`EMAIL_TAKEN`), so forgetting them lost the link for good. Only a token the server refused
 * (`renewSession`) forgets them.
 */
export function ensureSession(client: OvasabiClient): Promise<void> {
  if (usable(client.token)) return Promise.resolve()
  const pending = starting.get(client)
  if (pending) return pending
  const started = (async () => {
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

/**
 * This browser no longer holds the person (they signed out, or erased themself): their stored
 * name, referral links and token are forgotten, and a new guest session is started, so the page's
 * live features (its socket, the cursors) go on as a guest's. Without the server (the network
 * down) the page holds no token until the next `ensureSession` starts one.
 */
export async function forgetPerson(client: OvasabiClient): Promise<void> {
  forgetUser()
  forgetToken()
  client.setToken(undefined)
  await ensureSession(client).catch(() => {})
}

/**
 * How a sign-out went: `ended` on the server (every token of the session refused from now on), or
 * only `forgotten` by this browser because the server could not be reached.
 */
export type SignOutOutcome = 'ended' | 'forgotten'

/**
 * "Not you? Sign out": ends the session on the server and forgets the person in this browser.
 *
 * They are forgotten here even when the server cannot be reached: on a shared computer the next
 * visitor must not find the page signed in as them, and the token is then in no browser any
 * more (it stops working when it expires). The page says which of the two happened, so nobody
 * believes a session ended that did not. A 401 means the server had refused the token already
 * (logged out elsewhere, expired): ended all the same.
 */
export async function signOut(client: OvasabiClient): Promise<SignOutOutcome> {
  let outcome: SignOutOutcome = 'ended'
  try {
    await client.users.logout()
  } catch (err) {
    if (!credentialRefused(err)) outcome = 'forgotten'
  }
  await forgetPerson(client)
  return outcome
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

function forgetToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY)
  } catch {
    // see saveToken
  }
}
