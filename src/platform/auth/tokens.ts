import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { ulid } from 'ulid'
import { UnauthorizedError } from '../http/errors.js'
import { type Principal, ROLES, type Role } from './principal.js'

const ALGORITHM = 'HS256'
/** The `iss` of every token this API issues (the StreamSource registry's own tokens name another). */
export const ISSUER = 'ovasabi'

export interface TokenService {
  /**
   * A guest session: `sub` is the session id, `user_id` is "guest". The options are for tests:
   * a revoked guest session is remembered for the token lifetime after its revocation (see
   * `revocationRetentionSeconds` in the user module), which holds because its tokens were all
   * issued before it, for SESSION_TTL_SECONDS.
   */
  issueGuest(options?: {
    sessionId?: string
    ttlSeconds?: number
  }): Promise<{ token: string; principal: Principal }>
  /**
   * A registered user's token; it keeps the guest session id when one is upgraded. `validAfter`
   * is the person's token cut-off as read now (null: never cut off): the token carries it (`va`)
   * and is refused once the cut-off has moved past it, whatever the nodes' clocks say. It is also
   * stamped no earlier than it, for nodes that judge tokens by their issue time.
   */
  issueUser(input: {
    userId: string
    sessionId?: string
    roles: Role[]
    ttlSeconds?: number
    claims?: Record<string, unknown>
    validAfter?: Date | null
    /**
     * When the person last authenticated (`auth_time`, seconds since the epoch): now for a join
     * or login (the default), the old token's for a refresh, which never moves it forward.
     */
    authTime?: number
    /** The latest `exp` this token may have (seconds since the epoch): a session's maximum age. */
    notAfter?: number
  }): Promise<{ token: string; principal: Principal }>
  /**
   * Verify signature (HS256 only), issuer, expiry (required) and shape. Throws `UnauthorizedError`.
   * A token expires at the sooner of its `exp` and its `iat` plus the lifetime configured now (the
   * principal's `exp` says which), so lowering SESSION_TTL_SECONDS shortens the tokens out there.
   */
  verify(token: string): Promise<Principal & { claims: Record<string, unknown> }>
}

type Verified = Principal & { claims: Record<string, unknown> }

/**
 * How far ahead of this node's clock a token's issue time may be: nodes' clocks differ a little,
 * but a token stamped later than that would outlive any "log out everywhere" cut-off made before
 * it (the cut-off compares issue times), so it is refused as no node of ours would have made it.
 */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000

/**
 * Tokens must expire before the year 10000 (ms since the epoch): `expires_at` is answered as an
 * RFC 3339 date-time, whose year has four digits. A token expiring later (only one signed with our
 * secret but not by us, or under an absurd SESSION_TTL_SECONDS) is refused here, not a 500
 * wherever its expiry is shown.
 */
const LATEST_EXPIRY_MS = Date.UTC(10_000, 0, 1)

/** How long a verified token is trusted without checking its signature again (never past its `exp`). */
const VERIFIED_CACHE_MS = 60_000
const VERIFIED_CACHE_MAX = 10_000

export function createTokenService(options: { secret: string; ttlSeconds: number }): TokenService {
  const key = new TextEncoder().encode(options.secret)
  // HS256 verification through WebCrypto was ~10 % of the action endpoint's CPU, and a client
  // sends the same token with every request: remember tokens that verified, until the sooner of a
  // minute or their expiry. Only successes are kept; revocation is checked by the caller per request.
  const verified = new Map<string, { principal: Verified; until: number }>()

  function remember(token: string, principal: Verified) {
    const until = Math.min(Date.now() + VERIFIED_CACHE_MS, (principal.exp ?? 0) * 1000)
    if (until <= Date.now()) return
    if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!)
    verified.set(token, { principal, until })
  }

  function cached(token: string): Verified | undefined {
    const hit = verified.get(token)
    if (!hit) return undefined
    if (hit.until <= Date.now()) {
      verified.delete(token)
      return undefined
    }
    // A copy, so a caller changing its principal never changes the cached one.
    // A literal, not `{ ...p, roles }`: V8's slow path for spread-then-add showed per request.
    const p = hit.principal
    const copy: Verified = {
      kind: p.kind,
      user_id: p.user_id,
      session_id: p.session_id,
      roles: p.roles.slice(),
      claims: Object.assign({}, p.claims),
    }
    if (p.token_id !== undefined) copy.token_id = p.token_id
    if (p.exp !== undefined) copy.exp = p.exp
    if (p.issued_at !== undefined) copy.issued_at = p.issued_at
    if (p.valid_after !== undefined) copy.valid_after = p.valid_after
    if (p.auth_time !== undefined) copy.auth_time = p.auth_time
    return copy
  }

  async function sign(
    principal: Principal,
    ttl: number,
    claims: Record<string, unknown> = {},
    validAfter?: Date | null,
    session: { authTime?: number; notAfter?: number } = {},
  ) {
    const jti = ulid()
    const now = Math.floor(Date.now() / 1000)
    const exp = Math.min(now + ttl, session.notAfter ?? Number.POSITIVE_INFINITY)
    // Only a person authenticates; a guest session has no such time.
    const authTime = principal.kind === 'user' ? { auth_time: session.authTime ?? now } : {}
    // `iat` counts whole seconds; a cut-off needs the millisecond.
    const issuedMs = Math.max(Date.now(), validAfter?.getTime() ?? 0)
    // The cut-off this token was issued under: a later "log out everywhere" moves it on (see
    // `cutOffTokens`), so comparing the two is exact where issue times depend on each node's clock.
    const cutOff = validAfter === undefined ? {} : { va: validAfter?.getTime() ?? 0 }
    const token = await new SignJWT({
      ...claims,
      ...cutOff,
      ...authTime,
      iat_ms: issuedMs,
      user_id: principal.user_id,
      sid: principal.session_id,
      roles: principal.roles,
      kind: principal.kind,
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(principal.kind === 'session' ? principal.session_id : principal.user_id)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(key)
    const issued: Principal = { ...principal, token_id: jti, exp, issued_at: issuedMs }
    if (typeof cutOff.va === 'number') issued.valid_after = cutOff.va
    if (authTime.auth_time !== undefined) issued.auth_time = authTime.auth_time
    return { token, principal: issued }
  }

  return {
    issueGuest({ sessionId, ttlSeconds } = {}) {
      const session_id = sessionId ?? `sess_${ulid()}`
      return sign(
        { kind: 'session', user_id: 'guest', session_id, roles: ['guest'] },
        ttlSeconds ?? options.ttlSeconds,
      )
    },
    issueUser({ userId, sessionId, roles, ttlSeconds, claims, validAfter, authTime, notAfter }) {
      return sign(
        { kind: 'user', user_id: userId, session_id: sessionId ?? `sess_${ulid()}`, roles },
        ttlSeconds ?? options.ttlSeconds,
        claims,
        validAfter,
        { authTime, notAfter },
      )
    },
    async verify(token) {
      const hit = cached(token)
      if (hit) return hit
      try {
        // `exp` required: jose accepts a token without one, which would then never expire.
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          requiredClaims: ['exp'],
        })
        const roles = Array.isArray(payload.roles)
          ? payload.roles.filter((r): r is Role => ROLES.includes(r))
          : []
        const kind = payload.kind === 'user' ? 'user' : 'session'
        if ((payload.exp as number) * 1000 >= LATEST_EXPIRY_MS) {
          throw new UnauthorizedError('Token expiry is out of range', 'INVALID_TOKEN')
        }
        if (typeof payload.user_id !== 'string' || typeof payload.sid !== 'string' || roles.length === 0) {
          throw new UnauthorizedError('Token is missing required claims', 'INVALID_TOKEN')
        }
        const principal: Verified = {
          kind,
          user_id: payload.user_id,
          session_id: payload.sid,
          roles,
          token_id: payload.jti,
          exp: payload.exp,
          claims: payload as Record<string, unknown>,
        }
        // Tokens from before `iat_ms` have only whole seconds: such a token issued in the second
        // of a cut-off counts as older (refused), never as newer.
        const issuedAt =
          typeof payload.iat_ms === 'number'
            ? payload.iat_ms
            : typeof payload.iat === 'number'
              ? payload.iat * 1000
              : undefined
        const latest = Date.now() + MAX_CLOCK_AHEAD_MS
        if ((issuedAt ?? 0) > latest || (typeof payload.iat === 'number' && payload.iat * 1000 > latest)) {
          throw new UnauthorizedError('Token is issued in the future', 'INVALID_TOKEN')
        }
        if (issuedAt !== undefined) principal.issued_at = issuedAt
        if (typeof payload.va === 'number' && Number.isSafeInteger(payload.va) && payload.va >= 0) {
          principal.valid_after = payload.va
        }
        if (kind === 'user') {
          const iat = typeof payload.iat === 'number' ? Math.floor(payload.iat) : undefined
          const claimed =
            typeof payload.auth_time === 'number' && Number.isSafeInteger(payload.auth_time)
              ? payload.auth_time
              : undefined
          // A token from before `auth_time` counts from its issue, never as a session without an
          // age; and nobody authenticated after their token was issued.
          const authTime = claimed === undefined ? iat : Math.min(claimed, iat ?? claimed)
          if (authTime !== undefined) principal.auth_time = authTime
        }
        // A token lives SESSION_TTL_SECONDS from its issue under the lifetime configured now, not
        // the one it was signed under: revocations are kept only that long (plus the skew), so a
        // token of a longer lifetime set before would otherwise come back once its session's
        // revocation was purged. `iat` is the signing node's clock (`iat_ms` may be a cut-off later).
        const born = typeof payload.iat === 'number' ? payload.iat * 1000 : issuedAt
        if (born !== undefined) {
          const until = Math.floor(born / 1000) + options.ttlSeconds
          if (until * 1000 <= Date.now()) throw new UnauthorizedError('Token has expired', 'TOKEN_EXPIRED')
          if (until < (principal.exp ?? Number.POSITIVE_INFINITY)) principal.exp = until
        }
        remember(token, principal)
        return cached(token) ?? principal
      } catch (err) {
        if (err instanceof UnauthorizedError) throw err
        if (err instanceof joseErrors.JWTExpired)
          throw new UnauthorizedError('Token has expired', 'TOKEN_EXPIRED')
        throw new UnauthorizedError('Token is invalid', 'INVALID_TOKEN')
      }
    },
  }
}
