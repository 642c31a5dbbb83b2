import { createHash } from 'node:crypto'
import { ulid } from 'ulid'
import { hasRole, type Principal } from '../../platform/auth/principal.js'
import type { TokenService } from '../../platform/auth/tokens.js'
import { addToCounters } from '../../platform/db/counters.js'
import type { Db } from '../../platform/db/database.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { Campaign } from '../campaign/campaign.schema.js'
import { type ReaderTranslator, readerWords } from '../localization/reader-words.js'
import { canonicalLocale } from '../localization/locale.js'
import { accountEmail, holdsEmailAddress, NAME_HOLDS_EMAIL_HINT, storedForms } from './email.js'
import { burnPasswordCheck, hashPassword } from '../../platform/auth/password-hash.js'
import { assertStrongPassword } from './password.js'
import { formerEmails } from './email-change.repo.js'
import { activeSignIns, forgetSignIns, isSignInOf, purgeSignIns, recordSignIn } from './signins.repo.js'
import { checkPassword } from './password-check.js'
import type { ChangePasswordBody } from './password-reset.schema.js'
import { setPassword } from './password-reset.js'
import {
  DEFAULT_REFRESH_LIMITS,
  DEFAULT_SESSION_MAX_AGE_SECONDS,
  type RefreshLimits,
  refreshToken,
  sessionAge,
} from './refresh.js'
import { generateReferralCode } from './referral-code.js'
import type { Revocations } from './revocations.js'
import { endEverySession, logOut } from './logout.js'
import { listPeople } from './people.repo.js'
import type { PeopleList, PeopleQuery } from './people.schema.js'
import { changeRole, type RoleChange } from './role.js'
import { updateMe, whoAmI } from './me.js'
import * as repo from './user.repo.js'
import {
  type AuthResponse,
  type LoginBody,
  type LogoutResponse,
  type MeResponse,
  type UpdateMeBody,
  type PersonRole,
  type ReferralOutcome,
  type RegisterPayload,
  type SignInList,
  USER_METADATA_MAX_BYTES,
  type UserView,
} from './user.schema.js'

/** Who is joining or logging in, and from where. */
export interface CallerContext {
  /** The guest session being upgraded (or the caller's current token); absent for anonymous REST calls. */
  principal?: Principal
  ip: string
  /** The browser's User-Agent header: where the person signs in, as "Your account" lists it. */
  userAgent?: string
}

/** What an erasure hook receives: enough to find the person's rows before their email is gone. */
export interface ErasedPerson {
  user_id: string
  email: string | null
  /** `email` in every form another module may have stored it under (see `storedForms`); empty without one. */
  emails: string[]
  /**
   * The addresses they had before a change (see `EmailChange`), each in every stored form, with
   * when it stopped being theirs: what was stored under one until then is theirs too.
   */
  former_emails: Array<{ email: string; until: Date }>
  session_ids: string[]
}
/**
 * One module's part of an erasure, in its transaction `trx`. What it must tell others (sockets,
 * `/cable`) it returns as a function, run once the erasure has committed: nobody hears of an
 * erasure that a later hook or the commit then undid.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that tells no one is any `async` function
export type EraseHook = (person: ErasedPerson, trx: Db) => Promise<void | AfterErase>
export type AfterErase = () => Promise<void>

/** A join (new or again) about to commit: what a module records with it, in its transaction. */
export interface Joining {
  campaign: Campaign
  /** The person's row as the join read or wrote it (another transaction may have changed it since). */
  user: repo.UserRow
  /** The person's row was written by this join: nothing else has seen them yet. */
  newPerson: boolean
  /** Their membership of `campaign` was made by this join (not a join again). */
  newMember: boolean
}
/** What a join hook asks for once the join has committed. */
export interface JoinFollowUp {
  /** Runs after the commit and must not throw (email verification's event and mail). */
  after?: () => void
  /** A link confirming the address is being mailed: the answer says so (`email_verification`). */
  linkMailed?: boolean
}
/** Runs in a join's transaction `trx` (a failure fails the join). */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook with nothing to do after is any `async` function
export type JoinHook = (trx: Db, joining: Joining) => Promise<void | JoinFollowUp>

/** Applies a referral code given at join (the referral module provides it). */

export type JoinReferralHook = (input: {
  campaign: Campaign
  userId: string
  sessionId: string
  ip: string
  code: string
  /**
   * The person whose user token the join presented, and that token's session: someone already
   * in, who may be making a second account from their own browser. The new person gets a session
   * of their own (see `sessionFor`), so only this tells the referral rules who made them.
   */
  presentedBy?: { userId: string; sessionId: string }
}) => Promise<ReferralOutcome>

export type Member = NonNullable<Awaited<ReturnType<typeof repo.findMember>>>

export interface UserService {
  /** `user.register` and `POST /api/user/register`. */
  register(campaign: Campaign, input: RegisterPayload, caller: CallerContext): Promise<AuthResponse>
  login(input: LoginBody, caller: CallerContext & { campaign?: Campaign }): Promise<AuthResponse>
  /**
   * `POST /api/auth/refresh`: a new token for the person whose token `principal` is, of the same
   * session, with a fresh expiry and their current role (see `refreshToken`).
   */
  refresh(principal: Principal, caller: CallerContext): Promise<AuthResponse>
  /**
   * `POST /api/auth/logout`: the caller's session ends, every token of it (user and guest alike).
   * With `all`, so do the person's other sessions: every user token of theirs issued before now is
   * refused, and the sessions they joined or logged in from (but another person's) are revoked.
   */
  logout(principal: Principal, options: { all: boolean }): Promise<LogoutResponse>
  /** `GET /api/auth/me`: the caller as the server sees them (a person's own profile only to them). */
  me(principal: Principal): Promise<MeResponse>
  /** `PATCH /api/auth/me`: a person's own display name or locale (see `updateMe`). */
  updateMe(principal: Principal, input: UpdateMeBody): Promise<MeResponse>
  /**
   * `POST /api/auth/password`: a person signed in changes their password with the current one.
   * Every session of theirs ends, this one too, and the answer is a login's, of a new session.
   */
  changePassword(
    principal: Principal,
    input: ChangePasswordBody,
    caller: CallerContext,
  ): Promise<AuthResponse>
  /**
   * The caller is a person who typed their own password (a guess counted as a login's): their row.
   * Before what only they should do with their account (see `EmailChange`).
   */
  confirmPassword(principal: Principal, password: string, caller: { ip: string }): Promise<repo.UserRow>
  /**
   * `POST /api/auth/logout/others`: every other session of the caller (a person) ends, as with
   * `logout/all`; theirs goes on with a new token, its age kept (see `endEverySession`).
   */
  logoutOthers(principal: Principal, caller: CallerContext): Promise<AuthResponse>
  /** `GET /api/auth/sessions`: where the caller (a person) is signed in (see `activeSignIns`). */
  signIns(principal: Principal): Promise<SignInList>
  /**
   * `DELETE /api/auth/sessions/{id}`: one of the caller's sessions ends, as a logout there would
   * (their current one too); 404 `SESSION_NOT_FOUND` for one not theirs.
   */
  endSignIn(principal: Principal, sessionId: string): Promise<{ session_id: string; current: boolean }>
  /** `PUT /api/user/{id}/role`: an admin (key or person) gives a person a role (see `changeRole`). */
  setRole(userId: string, role: PersonRole, actor: Principal): Promise<RoleChange>
  /** `GET /api/users`: people not erased, newest first, a page at a time (see `listPeople`). */
  listPeople(filters: Pick<PeopleQuery, 'role' | 'q' | 'before'>, perPage: number): Promise<PeopleList>
  /** `DELETE /api/user/{id}`: the person themself or an admin. */
  erase(userId: string, actor: Principal): Promise<{ id: string; erased_at: Date }>
  /** Modules that hold personal data register here; hooks run in the erasure transaction. */
  onErase(hook: EraseHook): void
  /** Set once by the wiring: a referral code at join is applied through this. */
  onJoinReferral(hook: JoinReferralHook): void
  /** Runs in each join's transaction (new or again), and what it returns after its commit (see `JoinHook`). */
  onJoin(hook: JoinHook): void
  /**
   * A password was reset from `ip` with a link mailed to `email`: as after a login there, that
   * network's budget at the address starts again and the network is known, so a guesser who spent
   * the address's ceiling over all networks does not keep its owner out once they reset.
   */
  passwordResetFrom(email: string, ip: string): Promise<void>
  findMember(campaign: string, by: { userId: string } | { code: string }): Promise<Member | undefined>
  /** Display names of people not erased (leaderboards, milestone messages). */
  displayNames(ids: string[]): Promise<Map<string, string>>
  /** Every session the person joined or logged in from (their browsers, for the referral rules). */
  sessionIds(userId: string): Promise<string[]>
  /**
   * The periodic purge: forget the sessions revoked at erasure or logout once no token of theirs
   * can be valid (see `revocationRetentionSeconds`). `tokenTtlSeconds` is `SESSION_TTL_SECONDS`.
   */
  purgeRevokedSessions(tokenTtlSeconds: number): Promise<number>
}

/**
 * How much later a node's clock may run than the database's: a token is checked against the
 * clock of the node it reaches, a revocation is stamped and purged by the database's.
 */
const CLOCK_SKEW_SECONDS = 300

/**
 * How long a revoked session stays revoked. Guest tokens are only ever issued for a new session,
 * and user tokens for an existing one only to a caller holding a token of it (a join, a login, a
 * refresh, which reads the revocation afresh), which is refused once the revocation is known:
 * every token of a revoked session was issued before its revocation (or, by a node that had not
 * heard of it yet, within the 10 s a node trusts a "not revoked" — well inside the skew allowance)
 * and expires within the token lifetime after it; past that (and the clock skew), the row stops
 * nothing any more. Every token is issued for SESSION_TTL_SECONDS.
 */
export function revocationRetentionSeconds(tokenTtlSeconds: number): number {
  return tokenTtlSeconds + CLOCK_SKEW_SECONDS
}

export interface UserServiceDeps {
  db: Db
  tokens: Pick<TokenService, 'issueUser'>
  publisher: RealtimePublisher
  limiter: RateLimiter
  /** The authenticator's revocation cache: told of each erasure and logout, so this node honours it at once. */
  revocations?: Revocations
  /** Password attempts per window (see `countPasswordAttempt`); defaults in `DEFAULT_LOGIN_LIMITS`. */
  loginLimits?: LoginLimits
  /** Token refreshes per window; defaults in `DEFAULT_REFRESH_LIMITS`. */
  refreshLimits?: RefreshLimits
  /** SESSION_TTL_SECONDS (default a day): a session whose last token is older has none working. */
  tokenTtlSeconds?: number
  /** SESSION_MAX_AGE_SECONDS (default 30 days): no token is refreshed past a login's this long. */
  sessionMaxAgeSeconds?: number
  /**
   * A password hash made again under the current parameters at login that could not be stored
   * (the login goes on; the old hash still verifies, and the next login tries again).
   */
  onRehashError?: (err: unknown) => void
  /** Password changes per person and window; defaults in `DEFAULT_PASSWORD_CHANGE_LIMITS`. */
  passwordChangeLimits?: { perPerson: number; windowMs: number }
  /** After a password change has committed (the person is mailed a notice); must not throw. */
  onPasswordChanged?: (person: { email: string; locale: string | null }) => void
  /** The welcome in the person's locale, as their mails are (see `readerWords`); English without it. */
  translate?: ReaderTranslator
  /** A welcome sent in English because its words could not be translated. */
  onUntranslated?: (err: unknown) => void
}

/** The welcome notification a new member's sockets get, keyed `notification.welcome.*` in a catalog. */
export const WELCOME_NOTIFICATION = { message: 'Welcome to {campaign}, {name}!' }

export interface LoginLimits {
  /** Attempts from one client network, whatever the addresses. */
  perIp: number
  /** Attempts at one address from one client network: what a guesser anywhere gets. */
  perEmailAndNetwork: number
  /** Attempts at one address from all networks together: the ceiling a distributed guesser meets. */
  perEmail: number
  windowMs: number
  /**
   * Joins that set a new account's password, per client network and `joinWindowMs`. Each costs a
   * scrypt hash (16 MiB, tens of ms on the libuv pool that logins share); without a budget, one
   * client could send thousands a minute and stall every login and file read of the node.
   */
  passwordJoinsPerNetwork: number
  joinWindowMs: number
}

const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perIp: 30,
  perEmailAndNetwork: 5,
  perEmail: 100,
  windowMs: 15 * 60_000,
  // A venue's visitors share one address: 30 a minute is 450 password joins per quarter hour.
  passwordJoinsPerNetwork: 30,
  joinWindowMs: 60_000,
}

/**
 * Each change costs two password hashes and a right password refunds the login budget, so a
 * person's own changes have a budget of their own: a token cannot be used to keep a node hashing.
 */
const DEFAULT_PASSWORD_CHANGE_LIMITS = { perPerson: 10, windowMs: 60 * 60_000 }

/** Sign-outs elsewhere per person and window: each mints a token and cuts every other one off. */
const LOGOUT_OTHERS_LIMITS = { perPerson: 10, windowMs: 15 * 60_000 }

/** SESSION_TTL_SECONDS' default: how long a token works. */
const DEFAULT_TOKEN_TTL_SECONDS = 86_400

const MAX_CODE_ATTEMPTS = 8

/** An address's login budget across all networks, whichever form it is stored or typed in. */
function emailKey(email: string): string {
  return `login:email:${createHash('sha256').update(accountEmail(email)).digest('hex').slice(0, 32)}`
}

/** One client network's login budget (an IPv4 address or an IPv6 /64), whatever the addresses. */
const networkKey = (ip: string) => `login:ip:${clientNetwork(ip)}`

/** An address's login budget from one client network (an IPv6 client's /64). */
function emailNetworkKey(email: string, ip: string): string {
  return `${emailKey(email)}:net:${clientNetwork(ip)}`
}

/** How long a network the address logged in from stays out of the ceiling over all networks. */
const KNOWN_NETWORK_MS = 30 * 86_400_000
/** The window a look-up reports when the network is not known (it opens none). */
const KNOWN_NETWORK_PROBE_MS = 1000

/** A network the address logged in from (see `countPasswordAttempt`). */
function knownNetworkKey(email: string, ip: string): string {
  return `${emailNetworkKey(email, ip)}:ok`
}

export function createUserService(deps: UserServiceDeps): UserService {
  const { db } = deps
  const limits = deps.loginLimits ?? DEFAULT_LOGIN_LIMITS
  const maxAgeSeconds = deps.sessionMaxAgeSeconds ?? DEFAULT_SESSION_MAX_AGE_SECONDS
  /** A join's or login's token: authenticated now, so its session ends the max age from now. */
  const newSession = () => {
    const authTime = Math.floor(Date.now() / 1000)
    return { authTime, notAfter: authTime + maxAgeSeconds }
  }
  const eraseHooks: EraseHook[] = []
  let joinReferral: JoinReferralHook | undefined
  const joinHooks: JoinHook[] = []

  /** The join hooks, in the join's transaction; what they asked for after its commit. */
  async function joining(trx: Db, join: Joining) {
    const after: Array<() => void> = []
    let linkMailed = false
    for (const hook of joinHooks) {
      const then = await hook(trx, join)
      if (then?.after) after.push(then.after)
      linkMailed ||= then?.linkMailed === true
    }
    return { after, linkMailed }
  }

  /**
   * The membership, created with a fresh code unless it exists (code collisions are retried), in
   * the caller's transaction: a new person's user row and membership commit together, so a racing
   * join of the same email finds both or neither.
   */
  async function ensureMembership(
    trx: Db,
    campaign: string,
    userId: string,
    sessionId: string,
    caller: CallerContext,
  ) {
    const via = presenter(caller, userId)
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const row = await repo.insertMembership(trx, {
        campaign_slug: campaign,
        user_id: userId,
        referral_code: generateReferralCode(),
        session_id: sessionId,
        ...(via ? { joined_via_user_id: via.userId, joined_via_session_id: via.sessionId } : {}),
      })
      // A new member counts once in the campaign's `registrations` (its stats and dashboard),
      // whichever route they joined by; a repeat join does not.
      if (row) {
        await addToCounters(trx, campaign, { registrations: 1 })
        return { membership: row, created: true }
      }
      const existing = await repo.findMembership(trx, campaign, userId)
      if (existing) return { membership: existing, created: false }
    }
    throw new ServiceUnavailableError('Could not allocate a referral code; retry', 'CODE_ALLOCATION_FAILED')
  }

  /**
   * Counted before a password is checked, at login and at a join with one: a guesser pays for every
   * attempt. The low budget is per address and client network, so whoever guesses from elsewhere
   * cannot lock the owner out on their own network (OWASP); the ceiling per address over all
   * networks stops a guesser spread over many. An attempt refused by one budget is not counted in
   * the next, so a guesser held at their network's budget does not spend the address's ceiling.
   * Every refusal is the same 429 whichever budget it comes from. A network the address logged in
   * from is not held by the ceiling: a guesser spread over a few networks (who cannot make one
   * known without the password) must not lock the owner out at home; its own budget still holds.
   *
   * The network's budget is against guessing, so a right password gives its attempt back
   * (`passwordAccepted`): else more than `perIp` people behind one NAT, or a script logging in
   * often, were refused with nobody guessing. It is still counted before the check and refunded
   * only after it: counting only failures, once known, would let a guesser send any number of
   * guesses at once, each checked before any failed. So at most `perIp` guesses are ever in flight
   * or wrong in a window, and a refund needs the right password. Returns when the network's window
   * ends at the latest, so a refund is not given to a window opened since.
   */
  async function countPasswordAttempt(ip: string, email: string): Promise<number> {
    const budgets: Array<readonly [string, number]> = [
      [networkKey(ip), limits.perIp],
      [emailNetworkKey(email, ip), limits.perEmailAndNetwork],
    ]
    if (!(await isKnownNetwork(email, ip))) budgets.push([emailKey(email), limits.perEmail])
    let endsBy = 0
    for (const [key, limit] of budgets) {
      const r = await deps.limiter.consume(key, limit, limits.windowMs)
      // The network's window began at the latest now (see `RateLimiter.release`).
      endsBy ||= Date.now() + limits.windowMs
      if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many login attempts; retry later')
    }
    return endsBy
  }

  /**
   * Whether the address logged in from this network lately. The limiter only counts, so the mark
   * is a window a login opens for KNOWN_NETWORK_MS. The look-up only peeks, writing nothing: with
   * no window it reports the probe's one second, so only a login's window has over a minute left.
   */
  async function isKnownNetwork(email: string, ip: string): Promise<boolean> {
    const r = await deps.limiter.peek(knownNetworkKey(email, ip), 0, KNOWN_NETWORK_PROBE_MS)
    return r.retryAfter * 1000 > 60_000
  }

  /**
   * After a right password: this network's budget at the address starts again, the network's own
   * gets the attempt back (counted by the `countPasswordAttempt` that returned `endsBy`), and the
   * network is known.
   */
  async function passwordAccepted(email: string, ip: string, endsBy: number) {
    await deps.limiter.reset(emailNetworkKey(email, ip))
    await deps.limiter.release(networkKey(ip), endsBy)
    await markKnown(email, ip)
  }

  /** The address logged in (or reset its password) from this network: known for KNOWN_NETWORK_MS. */
  async function markKnown(email: string, ip: string) {
    const known = knownNetworkKey(email, ip)
    await deps.limiter.reset(known)
    await deps.limiter.consume(known, 0, KNOWN_NETWORK_MS)
  }

  /**
   * An existing person joins again only as themself: with their password; or without one, with
   * their own user token (only their password, or the join that created them, gives one) or, for
   * an account without a password, from a guest session they joined from. Anyone else gets the
   * same 409 whether or not the account has a password: knowing an email is not owning it, and
   * the answer would carry the person's token and referral code.
   */
  async function admitExisting(user: repo.UserRow, password: string | undefined, caller: CallerContext) {
    const taken = () =>
      new ConflictError(
        'This email has already joined; continue where you joined, or log in if you set a password',
        'EMAIL_TAKEN',
      )
    if (password !== undefined) {
      const endsBy = await countPasswordAttempt(caller.ip, user.email!)
      if (user.password_hash && (await checkPassword(db, user, password, deps.onRehashError))) {
        await passwordAccepted(user.email!, caller.ip, endsBy)
        return
      }
      // Setting a password on an account nobody proved they own would hand it over. Refused as a
      // wrong password is, counted and as slow: else a 429 that never comes (or a faster answer)
      // would tell which accounts have a password worth guessing.
      if (!user.password_hash) await burnPasswordCheck(password)
      throw taken()
    }
    const p = caller.principal
    if (p?.kind === 'user' && p.user_id === user.id) {
      // Their own token admits them only within its session's maximum age (see `register`).
      sessionAge(p, maxAgeSeconds)
      return
    }
    if (user.password_hash || !p || p.kind === 'apikey') throw taken()
    if ((await repo.sessionIds(db, user.id)).includes(p.session_id)) return
    throw taken()
  }

  /**
   * The session a join or login continues: a guest session is upgraded (its id stays, so the
   * visitor's earlier events stay theirs), a person's own token keeps theirs; anyone else's
   * (another person's token, an API key) is not handed to this person, who gets a new one. Two
   * people joining from one browser share its session, which is how the referral rules see a
   * second account made there (own code, same session); erasing one of them leaves that shared
   * session working and the other's events as they were.
   */
  function sessionFor(caller: CallerContext, userId: string, fresh: string): string {
    const p = caller.principal
    return p && (p.kind === 'session' || p.user_id === userId) ? p.session_id : fresh
  }

  /** Another person whose user token a join presented (a second account made while logged in). */
  function presenter(caller: CallerContext, userId: string) {
    const p = caller.principal
    return p?.kind === 'user' && p.user_id !== userId
      ? { userId: p.user_id, sessionId: p.session_id }
      : undefined
  }

  /**
   * A guest session a person continues belongs to them from now on, membership or not (a login
   * makes none): erasure finds its earlier events and uploads, and revokes it. In a transaction
   * holding `repo.lockUnerased`, so an erasure finds the link.
   */
  async function linkGuestSession(trx: Db, caller: CallerContext, userId: string, sessionId: string) {
    if (caller.principal?.kind === 'session') await repo.linkSession(trx, userId, sessionId)
  }

  /**
   * The person with this address (normalised). An account stored under an earlier normal form
   * (see `earlierEmails`) is found as its owner types it, so nobody already in is locked out.
   */
  const findByEmail = (typed: string, email: string) => repo.findAccount(db, typed, email)

  /**
   * The new member's sockets are welcomed in the locale they joined with: the campaign's catalog
   * (`notification.welcome.message`), else translated; in English without a locale, or when it
   * could not be. The campaign's title and the person's name go in as written.
   */
  async function welcome(campaign: Campaign, user: repo.UserRow, referralCode: string) {
    const words = await readerWords(
      WELCOME_NOTIFICATION,
      { campaign: campaign.title, name: user.display_name },
      {
        locale: user.locale,
        translate: deps.translate,
        prefix: 'notification.welcome',
        campaign: campaign.slug,
      },
      deps.onUntranslated,
    )
    await deps.publisher.publish(
      { scope: 'user', campaign: campaign.slug, user_id: user.id },
      {
        type: 'notification',
        event: 'user.welcome',
        campaign: campaign.slug,
        message: words.message,
        referral_code: referralCode,
      },
    )
  }

  /** A token issued, as an AuthResponse carries it. */
  function issuedToken(issued: { token: string; principal: Principal }) {
    return {
      token: issued.token,
      session_id: issued.principal.session_id,
      expires_at: new Date(issued.principal.exp! * 1000).toISOString(),
    }
  }

  function view(user: repo.UserRow, membership?: repo.MembershipRow): UserView {
    return {
      id: user.id,
      email: user.email ?? '',
      display_name: user.display_name,
      locale: user.locale,
      campaign: membership?.campaign_slug ?? null,
      referral_code: membership?.referral_code ?? null,
      joined_at: membership ? membership.joined_at.toISOString() : null,
    }
  }

  /** A user token was issued: the session is one the person is signed in at, from this browser. */
  async function signedIn(principal: Principal, caller: CallerContext) {
    await recordSignIn(db, {
      userId: principal.user_id,
      sessionId: principal.session_id,
      userAgent: caller.userAgent,
      network: caller.ip ? clientNetwork(caller.ip) : undefined,
      signedInAt: new Date((principal.auth_time ?? Math.floor(Date.now() / 1000)) * 1000),
      issuedAt: new Date(principal.issued_at ?? Date.now()),
      cutOff: principal.valid_after ? new Date(principal.valid_after) : null,
    })
  }

  /**
   * The caller is a person (else 403 `PERSON_REQUIRED`) who typed their own password: a guess with
   * a stolen token counts as a login's does, against the same budgets, and a right one gives the
   * attempt back. A wrong one is 403 `WRONG_PASSWORD` (not 401: the token is fine); an account
   * without a password 409 `PASSWORD_NOT_SET`; a person erased 401 `TOKEN_REVOKED`.
   */
  async function confirmPassword(principal: Principal, password: string, caller: { ip: string }) {
    if (principal.kind !== 'user')
      throw new ForbiddenError('Only a person signed in has a password', 'PERSON_REQUIRED')
    const user = await repo.findById(db, principal.user_id)
    if (!user?.email || user.erased_at) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
    if (!user.password_hash) {
      throw new ConflictError(
        'This account has no password yet: ask for one by mail (POST /api/auth/password/forgot)',
        'PASSWORD_NOT_SET',
      )
    }
    const endsBy = await countPasswordAttempt(caller.ip, user.email)
    if (!(await checkPassword(db, user, password, deps.onRehashError)))
      throw new ForbiddenError('The current password is wrong', 'WRONG_PASSWORD')
    await passwordAccepted(user.email, caller.ip, endsBy)
    return user
  }

  return {
    async register(campaign, input, caller) {
      if (input.metadata && Buffer.byteLength(JSON.stringify(input.metadata)) > USER_METADATA_MAX_BYTES) {
        throw new ValidationError('metadata is too large', [
          { path: '/metadata', message: `must be at most ${USER_METADATA_MAX_BYTES / 1024} KiB of JSON` },
        ])
      }
      // Shown to every visitor: an address there (a browser's autofill) would publish it.
      if (holdsEmailAddress(input.name)) {
        throw new ValidationError('name must not hold an email address', [
          { path: '/name', message: NAME_HOLDS_EMAIL_HINT },
        ])
      }
      const email = accountEmail(input.email)
      const fresh = `sess_${ulid()}`
      const consent = input.consent
        ? { text_version: input.consent.text_version.trim(), at: new Date().toISOString() }
        : undefined
      let joined:
        | {
            user: repo.UserRow
            membership: repo.MembershipRow
            created: boolean
            after: Array<() => void>
            linkMailed: boolean
          }
        | undefined
      let existed = false
      for (let attempt = 0; attempt < 3 && !joined; attempt++) {
        const existing = await findByEmail(input.email, email)
        if (existing) {
          await admitExisting(existing, input.password, caller)
          const sessionId = sessionFor(caller, existing.id, fresh)
          const m = await db.transaction().execute(async (trx) => {
            // Erased since they were read: the address is free, and the next round joins whoever
            // now has it. Else an erasure waits for this join, and its hooks find the membership.
            if (!(await repo.lockUnerased(trx, existing.id))) return undefined
            const m = await ensureMembership(trx, campaign.slug, existing.id, sessionId, caller)
            // A join again from another guest session: the membership names the first one only.
            if (m.membership.session_id !== sessionId)
              await linkGuestSession(trx, caller, existing.id, sessionId)
            // Consent given on this join's form is on record, as at a first join.
            if (consent) await repo.recordConsent(trx, existing.id, campaign.slug, consent)
            const join = { campaign, user: existing, newPerson: false, newMember: m.created }
            return { ...m, ...(await joining(trx, join)) }
          })
          if (!m) continue
          joined = { user: existing, ...m }
          existed = true
          break
        }
        // The strength rule is for a password being set: an existing person's is only checked.
        if (input.password !== undefined) {
          assertStrongPassword(input.password, email)
          // Counted before the hash it pays for, as a login attempt is (see `LoginLimits`).
          const r = await deps.limiter.consume(
            `join:password:${clientNetwork(caller.ip)}`,
            limits.passwordJoinsPerNetwork,
            limits.joinWindowMs,
          )
          if (!r.allowed)
            throw new TooManyRequestsError(r.retryAfter, 'Too many joins with a password; retry later')
        }
        const hash = input.password === undefined ? null : await hashPassword(input.password)
        joined = await db.transaction().execute(async (trx) => {
          const user = await repo.insertUser(trx, {
            id: `usr_${ulid()}`,
            email,
            display_name: input.name.trim(),
            password_hash: hash,
            // As the translation module names locales: `pt_br` is `pt-BR`.
            locale: input.locale === undefined ? null : canonicalLocale(input.locale),
            consent: consent ? repo.firstConsent(campaign.slug, consent) : null,
            metadata: input.metadata ?? {},
          })
          // Taken meanwhile: the next round finds that person (and their membership, committed with them).
          if (!user) return undefined
          const m = await ensureMembership(
            trx,
            campaign.slug,
            user.id,
            sessionFor(caller, user.id, fresh),
            caller,
          )
          return {
            user,
            ...m,
            ...(await joining(trx, { campaign, user, newPerson: true, newMember: m.created })),
          }
        })
      }
      if (!joined) throw new ServiceUnavailableError('Registration raced; retry', 'REGISTRATION_CONFLICT')
      const user = joined.user

      const sessionId = sessionFor(caller, user.id, fresh)
      // A join of an existing person admitted by their own token (no password; another campaign's
      // too) proves nothing new: its token keeps that session's age, as a refresh does, or a join
      // now and then would outlive SESSION_MAX_AGE_SECONDS.
      const presented = caller.principal
      const sameSession =
        existed && input.password === undefined && presented?.kind === 'user' && presented.user_id === user.id
          ? sessionAge(presented, maxAgeSeconds)
          : newSession()
      const issued = await deps.tokens.issueUser({
        userId: user.id,
        sessionId,
        // The role read with the cut-off: a token of a role lowered since is refused by it.
        roles: [user.role],
        validAfter: user.tokens_valid_after,
        ...sameSession,
      })
      await signedIn(issued.principal, caller)
      let referral: ReferralOutcome | undefined
      if (input.referral_code !== undefined && joinReferral) {
        const p = caller.principal
        try {
          referral = await joinReferral({
            campaign,
            userId: user.id,
            sessionId: joined.membership.session_id,
            ip: caller.ip,
            code: input.referral_code,
            ...(p?.kind === 'user' ? { presentedBy: { userId: p.user_id, sessionId: p.session_id } } : {}),
          })
        } catch (err) {
          // A bad code never fails the join: the person is in, the referral is not.
          if (!(err instanceof AppError) || err.statusCode >= 500) throw err
          referral = { status: 'refused', code: err.code, message: err.message }
        }
      }
      for (const then of joined.after) then()
      if (joined.created) void welcome(campaign, user, joined.membership.referral_code).catch(() => {})
      return {
        user: view(user, joined.membership),
        ...issuedToken(issued),
        created: joined.created,
        ...(referral ? { referral } : {}),
        ...(joined.linkMailed ? { email_verification: 'mailed' as const } : {}),
      }
    },

    async login(input, caller) {
      const email = accountEmail(input.email)
      const endsBy = await countPasswordAttempt(caller.ip, email)
      const user = await findByEmail(input.email, email)
      const ok = user?.password_hash
        ? await checkPassword(db, user, input.password, deps.onRehashError)
        : await burnPasswordCheck(input.password)
      if (!user || !ok) throw new UnauthorizedError('Email or password is wrong', 'INVALID_CREDENTIALS')
      // Only this network's budget: the ceiling over all networks stays spent (else the owner's
      // login would hand a distributed guesser a fresh one).
      await passwordAccepted(email, caller.ip, endsBy)
      const membership = caller.campaign
        ? await repo.findMembership(db, caller.campaign.slug, user.id)
        : undefined
      const sessionId = sessionFor(caller, user.id, `sess_${ulid()}`)
      // Erased since their password was checked: as if the address were unknown.
      const unerased = await db.transaction().execute(async (trx) => {
        if (!(await repo.lockUnerased(trx, user.id))) return false
        await linkGuestSession(trx, caller, user.id, sessionId)
        return true
      })
      if (!unerased) throw new UnauthorizedError('Email or password is wrong', 'INVALID_CREDENTIALS')
      const issued = await deps.tokens.issueUser({
        userId: user.id,
        sessionId,
        // The role read with the cut-off: a token of a role lowered since is refused by it.
        roles: [user.role],
        validAfter: user.tokens_valid_after,
        ...newSession(),
      })
      await signedIn(issued.principal, caller)
      return {
        user: view(user, membership),
        ...issuedToken(issued),
      }
    },

    async refresh(principal, caller) {
      const { user, issued } = await refreshToken(
        {
          db,
          tokens: deps.tokens,
          limiter: deps.limiter,
          limits: deps.refreshLimits ?? DEFAULT_REFRESH_LIMITS,
          maxAgeSeconds,
        },
        principal,
        caller.ip,
      )
      await signedIn(issued.principal, caller)
      return {
        user: view(user),
        ...issuedToken(issued),
      }
    },

    async erase(userId, actor) {
      // Themself only by a person's own token: every guest's `user_id` is "guest", and a key's
      // `apikey:…` names no person either.
      const themself = actor.kind === 'user' && actor.user_id === userId
      if (!themself && !hasRole(actor, 'admin')) {
        throw new ForbiddenError('Only the person themself or an admin can erase an account')
      }
      const user = await repo.findById(db, userId)
      if (!user) throw new NotFoundError(`User ${userId} does not exist`, 'USER_NOT_FOUND')
      // Erasing an erased person runs the hooks again: what reached their identity after the
      // erasure (a socket of theirs still open until the gateway's re-check, a node that had not
      // heard of it yet) goes too. Every hook is safe to repeat.
      const person: ErasedPerson = {
        user_id: user.id,
        email: user.email,
        emails: user.email ? storedForms(user.email) : [],
        former_emails: [],
        session_ids: [],
      }
      let revoked: string[] = []
      const announcements: AfterErase[] = []
      const erasedAt = await db.transaction().execute(async (trx) => {
        // Held until the commit: a writer that checks the person is not erased under a share lock
        // (a join, a login's guest session, a verification link being stored) either commits before
        // the hooks run, so they find what it wrote, or waits and finds them erased.
        await repo.lockForErasure(trx, user.id)
        person.session_ids = await repo.sessionIds(trx, user.id)
        person.former_emails = (await formerEmails(trx, user.id)).flatMap(({ email, until }) =>
          storedForms(email).map((form) => ({ email: form, until })),
        )
        for (const hook of eraseHooks) {
          const then = await hook(person, trx)
          if (then) announcements.push(then)
        }
        // A session another person also joined from stays theirs (see sessionFor).
        await forgetSignIns(trx, user.id)
        const shared = new Set(await repo.sessionsSharedWithOthers(trx, person.session_ids, user.id))
        revoked = person.session_ids.filter((id) => !shared.has(id))
        await repo.revokeSessions(trx, revoked, 'erased')
        return repo.erase(trx, user.id)
      })
      // Again once committed: a request between a hook's `forget` and the commit re-read "valid".
      // Every node is told too: its cache forgets, its gateway closes the person's sockets (and
      // those of the sessions revoked, but not of one another person shares).
      deps.revocations?.forget(person)
      await deps.revocations?.revoked({ user_id: person.user_id, session_ids: revoked, all: true })
      for (const announce of announcements) await announce()
      if (erasedAt) return { id: user.id, erased_at: erasedAt }
      const again = await repo.findById(db, userId)
      return { id: userId, erased_at: again?.erased_at ?? new Date() }
    },

    async logout(principal, { all }) {
      const ended = await logOut(db, principal, all)
      await deps.revocations?.revoked({
        user_id: ended.user_id,
        session_ids: ended.session_ids,
        all: ended.tokens_valid_after !== undefined,
      })
      const cutOff = ended.tokens_valid_after
      return { status: 'logged_out', all, ...(cutOff ? { tokens_valid_after: cutOff.toISOString() } : {}) }
    },
    confirmPassword,

    async logoutOthers(principal, caller) {
      if (principal.kind !== 'user')
        throw new ForbiddenError('Only a person signed in has other sessions to end', 'PERSON_REQUIRED')
      const r = await deps.limiter.consume(
        `logout:others:${principal.user_id}`,
        LOGOUT_OTHERS_LIMITS.perPerson,
        LOGOUT_OTHERS_LIMITS.windowMs,
      )
      if (!r.allowed)
        throw new TooManyRequestsError(r.retryAfter, 'Too many sign-outs elsewhere; retry later')
      // The session goes on as it is: its new token ends when a refresh's would.
      const { authTime, notAfter } = sessionAge(principal, maxAgeSeconds)
      const ended = await db.transaction().execute(async (trx) => {
        // Erased, or this session ended meanwhile (a logout here racing): nothing goes on.
        const going =
          (await repo.lockUnerased(trx, principal.user_id)) &&
          !(await repo.isSessionRevoked(trx, principal.session_id))
        if (!going) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
        return endEverySession(trx, principal.user_id, 'logout_others', { kept: principal.session_id })
      })
      await deps.revocations?.revoked({ user_id: ended.user_id, session_ids: ended.session_ids, all: true })
      // Read after the cut-off, as a password change reads it: the role and cut-off as they are now.
      const now = await repo.findById(db, principal.user_id)
      if (!now || now.erased_at) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
      const issued = await deps.tokens.issueUser({
        userId: now.id,
        sessionId: principal.session_id,
        roles: [now.role],
        validAfter: now.tokens_valid_after,
        authTime,
        notAfter,
      })
      await signedIn(issued.principal, caller)
      return { user: view(now), ...issuedToken(issued) }
    },

    async signIns(principal) {
      if (principal.kind !== 'user')
        throw new ForbiddenError('Only a person signed in has sessions to list', 'PERSON_REQUIRED')
      const rows = await activeSignIns(db, principal.user_id, {
        ttlSeconds: deps.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
        maxAgeSeconds,
      })
      return {
        sessions: rows.map((r) => ({
          session_id: r.session_id,
          current: r.session_id === principal.session_id,
          user_agent: r.user_agent,
          network: r.network,
          signed_in_at: r.signed_in_at.toISOString(),
          last_active_at: r.last_active_at.toISOString(),
        })),
      }
    },

    async endSignIn(principal, sessionId) {
      if (principal.kind !== 'user')
        throw new ForbiddenError('Only a person signed in has sessions to end', 'PERSON_REQUIRED')
      if (!(await isSignInOf(db, principal.user_id, sessionId)))
        throw new NotFoundError('You have no such session', 'SESSION_NOT_FOUND')
      await repo.revokeSessions(db, [sessionId], 'ended')
      await deps.revocations?.revoked({ user_id: principal.user_id, session_ids: [sessionId], all: false })
      return { session_id: sessionId, current: sessionId === principal.session_id }
    },

    async changePassword(principal, input, caller) {
      const budget = deps.passwordChangeLimits ?? DEFAULT_PASSWORD_CHANGE_LIMITS
      if (principal.kind === 'user') {
        const r = await deps.limiter.consume(
          `password:change:${principal.user_id}`,
          budget.perPerson,
          budget.windowMs,
        )
        if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many password changes; retry later')
      }
      const user = await confirmPassword(principal, input.current_password, caller)
      const person = { id: user.id, email: user.email! }
      const ended = await setPassword({ db, revocations: deps.revocations }, person, input.password)
      if (!ended) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
      // Read after the cut-off, so the role and cut-off are the row's as they are now (a role
      // lowered meanwhile included), as a login reads them.
      const now = await repo.findById(db, user.id)
      if (!now || now.erased_at) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
      const issued = await deps.tokens.issueUser({
        userId: now.id,
        // Every session of theirs was just revoked, this one included: the new token opens its own.
        sessionId: `sess_${ulid()}`,
        roles: [now.role],
        validAfter: now.tokens_valid_after,
        ...newSession(),
      })
      await signedIn(issued.principal, caller)
      deps.onPasswordChanged?.({ email: person.email, locale: now.locale })
      return {
        user: view(now),
        ...issuedToken(issued),
      }
    },
    me: (principal) => whoAmI(db, principal),
    updateMe: (principal, input) => updateMe(db, principal, input),
    setRole: (userId, role, actor) =>
      changeRole(db, { id: userId }, role, { actor, revocations: deps.revocations }),
    listPeople: (filters, perPage) => listPeople(db, filters, perPage),
    onErase(hook) {
      eraseHooks.push(hook)
    },
    onJoinReferral(hook) {
      joinReferral = hook
    },
    onJoin(hook) {
      joinHooks.push(hook)
    },
    async passwordResetFrom(email, ip) {
      await deps.limiter.reset(emailNetworkKey(email, ip))
      await markKnown(email, ip)
    },
    findMember: (campaign, by) => repo.findMember(db, campaign, by),
    displayNames: (ids) => repo.displayNames(db, ids),
    sessionIds: (userId) => repo.sessionIds(db, userId),
    async purgeRevokedSessions(ttl) {
      // A sign-in whose last token expired (and the clock skew) lists nothing a person could end.
      await purgeSignIns(db, revocationRetentionSeconds(ttl))
      return repo.purgeRevokedSessions(db, revocationRetentionSeconds(ttl))
    },
  }
}
