import { createHmac } from 'node:crypto'
import { decodeJwt, jwtVerify, SignJWT } from 'jose'
import { ulid } from 'ulid'
import type { ApiKeyService } from '../../platform/auth/apikeys.js'
import type { EventBus } from '../../platform/bus/bus.js'
import { looksLikeApiKey } from '../../platform/auth/apikeys.js'
import { ISSUER as PEOPLE_ISSUER } from '../../platform/auth/tokens.js'
import {
  burnPasswordCheck,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../platform/auth/password-hash.js'
import { hasRole, type Principal } from '../../platform/auth/principal.js'
import { assertUnscoped } from '../../platform/auth/campaign-scope.js'
import type { Db } from '../../platform/db/database.js'
import * as repo from './account.repo.js'
import { passwordProblems } from './account.password.js'
import type { AccountJson, AccountRole } from './stream.schema.js'
import {
  forbidden,
  invalid,
  isCredentialRefusal,
  MESSAGES,
  notFound,
  unauthorized,
  V1Error,
} from './v1.errors.js'

const ALGORITHM = 'HS256'
const ISSUER = 'ovasabi:streamsource'
const DAY = 86_400
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
/** C0/C1 controls: an ESC sequence in an email would reach the admin's terminal (`streamsource-user list`). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Bus channel on which an account's token cut-off, a logout of one of its tokens or a change of
 * its role (`{account_id}`) is announced, so every node re-checks that account's open `/cable`
 * sockets at once instead of at its next periodic pass (and a demoted one loses what its new role
 * does not allow).
 */
export const TOKENS_CUT_OFF_CHANNEL = 'ovasabi:stream:tokens-cut-off'

/**
 * Who calls `/api/v1`: a StreamSource account (by token), an Ovasabi API key, or a console person
 * (an editor's or admin's Ovasabi token, as the console signs in by email and password).
 */
export interface V1Principal {
  kind: 'account' | 'apikey' | 'person'
  /** The account id; undefined for API keys and persons. */
  account_id?: number
  /** The API key's id (`service_security_apikey.id`); undefined for accounts and persons. */
  key_id?: string
  /** The person's id (`service_user_master.id`); undefined for accounts and API keys. */
  person_id?: string
  email?: string
  role: AccountRole
  service: boolean
  token_id?: string
  exp?: number
}

/** Who a change is recorded as (the maintenance switch's `by`): the account's email, the person, or the key. */
export function actorOf(p: V1Principal): string {
  if (p.email) return p.email
  return p.person_id !== undefined ? `person:${p.person_id}` : 'apikey'
}

export function toAccountJson(row: repo.AccountRow): AccountJson {
  return {
    id: Number(row.id),
    email: row.email,
    role: row.role,
    is_service_account: row.is_service_account,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export interface AccountService {
  signup(input: { email: unknown; password: unknown; password_confirmation?: unknown }): Promise<AccountJson>
  login(email: unknown, password: unknown): Promise<{ user: AccountJson; token: string }>
  /** Revokes the token for good (its `jti` goes on the denylist until it would have expired). */
  logout(principal: V1Principal): Promise<void>
  /** Refuses every token the caller's account holds now ("log out everywhere"). */
  logoutEverywhere(principal: V1Principal): Promise<void>
  /**
   * The caller's own password, checked against the current one; every older token of the account
   * stops working, and the answer carries a new token.
   */
  changePassword(
    principal: V1Principal,
    input: { current_password?: unknown; password?: unknown; password_confirmation?: unknown },
  ): Promise<{ user: AccountJson; token: string }>
  /** An admin's cut-off (REST or CLI): every token of account `id` issued until now is refused. */
  revokeTokens(id: number): Promise<{ user: AccountJson; tokens_valid_after: string }>
  /** For the CLI: a new password, which also cuts off every token issued before. */
  setPassword(id: number, password: string): Promise<AccountJson>
  /** The caller for a bearer credential (account JWT, `ovs_` API key or a console person's token), or 401. */
  authenticate(credential: string): Promise<V1Principal>
  issue(account: repo.AccountRow): Promise<string>
  list(page: number, perPage: number): Promise<{ users: AccountJson[]; total: number }>
  get(id: number): Promise<AccountJson>
  update(id: number, patch: { role?: AccountRole; is_service_account?: boolean }): Promise<AccountJson>
  /** For the CLI: create an account with any role. */
  create(input: {
    email: string
    password: string
    role?: AccountRole
    is_service_account?: boolean
  }): Promise<AccountJson>
  accounts(ids: number[]): Promise<Map<number, AccountJson>>
  purge(): Promise<void>
}

export function createAccountService(deps: {
  db: Db
  apiKeys: Pick<ApiKeyService, 'authenticate'>
  secret: string
  /** Announces token cut-offs to every node's `/cable` server (none in a one-off CLI run without Redis). */
  bus?: Pick<EventBus, 'publish'>
  /**
   * A person's Ovasabi token as the rest of the API resolves it (the platform authenticator, so
   * expiry, logout, erasure and a lowered role's cut-off apply alike); throws a 401 `AppError`
   * for a refused one. Without it (the CLI) such tokens are refused.
   */
  people?: (credential: string) => Promise<Principal>
  /** A login's rehash (see `needsRehash`) that could not be stored: the login stands, the old hash verifying. */
  onRehashError?: (err: unknown) => void
}) {
  const { db } = deps
  // A key of its own, so registry tokens and campaign tokens can never stand in for each other.
  const key = createHmac('sha256', deps.secret).update('ovasabi:streamsource:v1').digest()

  function validate(email: unknown, password: unknown, confirmation?: unknown) {
    const fields: Record<string, string[]> = {}
    if (typeof email !== 'string' || email.trim() === '') fields.email = ["can't be blank"]
    else if (!EMAIL.test(email.trim()) || email.length > 254 || CONTROL.test(email))
      fields.email = ['is invalid']
    if (typeof password !== 'string' || password === '') fields.password = ["can't be blank"]
    else {
      const problems = passwordProblems(password)
      if (problems.length) fields.password = problems
    }
    if (confirmation !== undefined && confirmation !== password)
      fields.password_confirmation = ["doesn't match Password"]
    if (Object.keys(fields).length) throw invalid(fields)
    return { email: (email as string).trim().toLowerCase(), password: password as string }
  }

  async function create(input: {
    email: unknown
    password: unknown
    password_confirmation?: unknown
    role?: AccountRole
    is_service_account?: boolean
  }) {
    const { email, password } = validate(input.email, input.password, input.password_confirmation)
    const row = await repo.insert(db, {
      email,
      password_hash: await hashPassword(password),
      role: input.role,
      is_service_account: input.is_service_account,
    })
    if (!row) throw invalid({ email: ['has already been taken'] })
    return toAccountJson(row)
  }

  async function issue(account: repo.AccountRow): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    // `iat` counts whole seconds; the cut-off needs the millisecond, and a token issued after a
    // cut-off read with the account is never older than it (a node whose clock runs behind the
    // one that cut off would otherwise issue tokens refused at once).
    const issuedMs = Math.max(Date.now(), account.tokens_valid_after?.getTime() ?? 0)
    return new SignJWT({
      email: account.email,
      role: account.role,
      svc: account.is_service_account,
      iat_ms: issuedMs,
      // The cut-off this token is issued under (0: none yet): each cut-off moves the row's on (see
      // `cutOffTokens`), so comparing the two does not depend on which node's clock issued it.
      va: account.tokens_valid_after?.getTime() ?? 0,
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(String(account.id))
      .setJti(ulid())
      .setIssuedAt(now)
      .setExpirationTime(now + (account.is_service_account ? 30 * DAY : DAY))
      .sign(key)
  }

  /** Stores the cut-off (and a new password with it), then tells every node's `/cable` server. */
  async function cutOff(id: number, passwordHash?: string): Promise<repo.AccountRow> {
    const row = await repo.cutOffTokens(db, id, new Date(), passwordHash)
    if (!row) throw notFound()
    // The cut-off is committed and REST refuses the old tokens from now on, on every node. A lost
    // announcement only delays closing open `/cable` sockets until their periodic re-check.
    await deps.bus?.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: Number(row.id) }).catch(() => {})
    return row
  }

  /**
   * A console person, with the same role rules as an API key of their role: an admin administers,
   * an editor edits. A person with no console role (a participant, a guest session) is refused as
   * no credential is, so the registry tells them nothing a missing key would not.
   */
  async function person(credential: string): Promise<V1Principal> {
    if (!deps.people) throw unauthorized()
    const p = await deps.people(credential).catch((err) => {
      // Refused (expired, logged out, cut off, erased): StreamSource's 401. Anything else is a
      // check that got no answer, which the caller turns into a 503.
      throw isCredentialRefusal(err) ? unauthorized() : err
    })
    if (p.kind !== 'user' || !hasRole(p, 'editor')) throw unauthorized()
    return {
      kind: 'person',
      person_id: p.user_id,
      role: hasRole(p, 'admin') ? 'admin' : 'editor',
      service: false,
      token_id: p.token_id,
      exp: p.exp,
    }
  }

  const service: AccountService = {
    signup: (input) => create(input),
    create: (input) => create(input),
    issue,
    async login(email, password) {
      if (typeof email !== 'string' || typeof password !== 'string') {
        throw new V1Error(401, 'INVALID_CREDENTIALS', MESSAGES.badCredentials)
      }
      const row = await repo.findByEmail(db, email.trim().toLowerCase())
      // An unknown email spends a check's time too, so timing does not tell which have accounts.
      const ok = row ? await verifyPassword(password, row.password_hash) : await burnPasswordCheck(password)
      if (!row || !ok) throw new V1Error(401, 'INVALID_CREDENTIALS', MESSAGES.badCredentials)
      // A hash made under earlier parameters (before QA 31: N=2^14, p=1) is made again under the
      // current ones while the password is at hand; storing it never fails the login.
      if (needsRehash(row.password_hash)) {
        await hashPassword(password)
          .then((next) => repo.replacePasswordHash(db, row.id, row.password_hash, next))
          .catch((err) => deps.onRehashError?.(err))
      }
      return { user: toAccountJson(row), token: await issue(row) }
    },
    async logout(principal) {
      if (principal.kind !== 'account' || !principal.token_id) return
      await repo.denyToken(db, principal.token_id, new Date((principal.exp ?? 0) * 1000))
      // As for a cut-off: every node re-checks that account's `/cable` sockets now, so the one
      // using this token closes at once (the others pass). Lost, the periodic re-check closes it.
      if (principal.account_id !== undefined)
        await deps.bus?.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: principal.account_id }).catch(() => {})
    },
    async logoutEverywhere(principal) {
      if (principal.kind !== 'account' || principal.account_id === undefined) throw forbidden()
      await cutOff(principal.account_id)
    },
    async changePassword(principal, input) {
      if (principal.kind !== 'account' || principal.account_id === undefined) throw forbidden()
      const row = await repo.findById(db, principal.account_id)
      if (!row) throw unauthorized()
      const fields: Record<string, string[]> = {}
      if (typeof input.current_password !== 'string' || input.current_password === '')
        fields.current_password = ["can't be blank"]
      else if (!(await verifyPassword(input.current_password, row.password_hash)))
        fields.current_password = ['is invalid']
      const problems = typeof input.password === 'string' ? passwordProblems(input.password) : []
      if (typeof input.password !== 'string' || input.password === '') fields.password = ["can't be blank"]
      else if (problems.length) fields.password = problems
      if (input.password_confirmation !== undefined && input.password_confirmation !== input.password)
        fields.password_confirmation = ["doesn't match Password"]
      if (Object.keys(fields).length) throw invalid(fields)
      const updated = await cutOff(row.id, await hashPassword(input.password as string))
      return { user: toAccountJson(updated), token: await issue(updated) }
    },
    async revokeTokens(id) {
      const row = await cutOff(id)
      return { user: toAccountJson(row), tokens_valid_after: row.tokens_valid_after!.toISOString() }
    },
    async setPassword(id, password) {
      const problems = passwordProblems(password)
      if (problems.length) throw invalid({ password: problems })
      return toAccountJson(await cutOff(id, await hashPassword(password)))
    },
    async authenticate(credential) {
      if (looksLikeApiKey(credential)) {
        const p = await deps.apiKeys.authenticate(credential)
        if (!p) throw unauthorized()
        // The stream registry belongs to no single campaign: a key limited to some is not for it.
        if (p.campaigns) assertUnscoped(p)
        // The key's own role, mapped: an admin key administers, an editor key edits, any other
        // key (participant, guest) only reads, like a `default` account.
        const role = hasRole(p, 'admin') ? 'admin' : hasRole(p, 'editor') ? 'editor' : 'default'
        // The key's id (`apikey:<id>` as a principal): the owner of the streams the key creates.
        const keyId = p.user_id.startsWith('apikey:') ? p.user_id.slice('apikey:'.length) : undefined
        return { kind: 'apikey', role, service: true, key_id: keyId }
      }
      if (issuerOf(credential) === PEOPLE_ISSUER) return person(credential)
      let payload: Record<string, unknown>
      try {
        payload = (await jwtVerify(credential, key, { algorithms: [ALGORITHM], issuer: ISSUER })).payload
      } catch {
        throw unauthorized()
      }
      const id = Number(payload.sub)
      const jti = typeof payload.jti === 'string' ? payload.jti : undefined
      if (!Number.isSafeInteger(id) || !jti) throw unauthorized()
      // The account is read on every request, so role changes, deletions and token cut-offs
      // apply at once, on every node: the cut-off is a column of that same row, so it costs nothing.
      const [row, denied] = await Promise.all([repo.findById(db, id), repo.isDenied(db, jti)])
      if (!row || denied) throw unauthorized()
      if (row.tokens_valid_after && issuedUnder(payload) < row.tokens_valid_after.getTime())
        throw unauthorized()
      return {
        kind: 'account',
        account_id: Number(row.id),
        email: row.email,
        role: row.role,
        service: row.is_service_account,
        token_id: jti,
        exp: typeof payload.exp === 'number' ? payload.exp : undefined,
      }
    },
    async list(page, perPage) {
      const { rows, total } = await repo.list(db, page, perPage)
      return { users: rows.map(toAccountJson), total }
    },
    async get(id) {
      const row = await repo.findById(db, id)
      if (!row) throw notFound()
      return toAccountJson(row)
    },
    async update(id, patch) {
      const row = await repo.update(db, id, patch)
      if (!row) throw notFound()
      // REST reads the role per request; open `/cable` sockets hear of it now, on every node.
      // Lost, their next command's check or the periodic re-check applies it.
      await deps.bus?.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: Number(row.id) }).catch(() => {})
      return toAccountJson(row)
    },
    async accounts(ids) {
      const rows = await repo.findMany(db, [...new Set(ids)])
      return new Map(rows.map((r) => [Number(r.id), toAccountJson(r)]))
    },
    purge: () => repo.purgeDenylist(db),
  }
  return service
}

/**
 * The issuer a JWT claims, read without verifying it: it only picks which verifier checks the
 * token (each checks its own signature and issuer), so a forged claim only meets the other one.
 */
function issuerOf(credential: string): string | undefined {
  try {
    const iss = decodeJwt(credential).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/**
 * What a token is held against the account's cut-off by (ms): the cut-off it was issued under
 * (`va`), exact whatever the nodes' clocks say. Tokens from before that claim are judged by when
 * they were issued: their `iat_ms`, or for older ones their `iat` (whole seconds, so such a token
 * issued in the second of a cut-off counts as older). A token with none is older than any cut-off.
 */
function issuedUnder(payload: Record<string, unknown>): number {
  if (typeof payload.va === 'number' && Number.isSafeInteger(payload.va) && payload.va >= 0) return payload.va
  if (typeof payload.iat_ms === 'number') return payload.iat_ms
  return typeof payload.iat === 'number' ? payload.iat * 1000 : 0
}
