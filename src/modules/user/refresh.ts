import type { Principal } from '../../platform/auth/principal.js'
import type { TokenService } from '../../platform/auth/tokens.js'
import type { Db } from '../../platform/db/database.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../platform/http/errors.js'
import type { RateLimiter } from '../../platform/http/rate-limiter.js'
import { issuedBeforeCutOff } from './revocations.js'
import * as repo from './user.repo.js'

/** Refreshes per window: by one person (every token of theirs), and from one client network. */
export interface RefreshLimits {
  perPerson: number
  perNetwork: number
  windowMs: number
}

/**
 * A client refreshes about once a token lifetime (a day by default), a few tabs at once: 30 a
 * quarter hour is far above that, and far below minting tokens in a loop. A venue's visitors
 * share one address, so its network gets ten people's worth.
 */
export const DEFAULT_REFRESH_LIMITS: RefreshLimits = {
  perPerson: 30,
  perNetwork: 300,
  windowMs: 15 * 60_000,
}

export interface RefreshDeps {
  db: Db
  tokens: Pick<TokenService, 'issueUser'>
  limiter: RateLimiter
  limits: RefreshLimits
  /** SESSION_MAX_AGE_SECONDS: how long after a join or login tokens are still refreshed. */
  maxAgeSeconds: number
}

/** SESSION_MAX_AGE_SECONDS by default: 30 days, as OIDC providers commonly cap a session. */
export const DEFAULT_SESSION_MAX_AGE_SECONDS = 30 * 86_400

/**
 * The session a person's token belongs to: when they last authenticated (its `auth_time`, else
 * its issue time: a token from before the claim is never of an unlimited session) and the latest
 * expiry any token of it may have. Refused with 401 `SESSION_EXPIRED` once that has passed.
 */
export function sessionAge(principal: Principal, maxAgeSeconds: number) {
  const authTime = principal.auth_time ?? Math.floor((principal.issued_at ?? 0) / 1000)
  const notAfter = authTime + maxAgeSeconds
  if (notAfter * 1000 <= Date.now()) {
    throw new UnauthorizedError(
      'This sign-in is older than the longest session allowed; log in again',
      'SESSION_EXPIRED',
    )
  }
  return { authTime, notAfter }
}

/**
 * `POST /api/auth/refresh`: a new token for the person whose token the caller presents (the
 * authenticator has verified it and found it not revoked), of the same session, with a fresh
 * expiry and the role the person holds now. The old token works until its own expiry; a logout
 * of either ends both (one session).
 *
 * The person's row and the session are read again here, not taken from the authenticator's cache
 * (which trusts a "not revoked" for up to 10 s on a node not yet told): a token logged out, cut
 * off ("log out everywhere", a lowered role) or of a person erased on another node a moment ago
 * is never turned into a new one. The new token carries the cut-off read with the role, so a
 * cut-off committed meanwhile refuses it too.
 *
 * Only a person's token is refreshed. A guest session's tokens are only ever issued for a new
 * session (`POST /api/session`), which a join or login upgrades into a person's; an API key does
 * not expire this way. Both are 403 `USER_TOKEN_REQUIRED`.
 *
 * A refresh never makes a session older than SESSION_MAX_AGE_SECONDS: the new token keeps the
 * old one's `auth_time` and expires by its end; past it, 401 `SESSION_EXPIRED` (log in again).
 */
export async function refreshToken(deps: RefreshDeps, principal: Principal, ip: string) {
  if (principal.kind !== 'user') {
    throw new ForbiddenError(
      principal.kind === 'session'
        ? 'A guest session token is not refreshed: POST /api/session gives a new one, and joining or logging in upgrades this session'
        : 'An API key has no token to refresh',
      'USER_TOKEN_REQUIRED',
    )
  }
  const { limits } = deps
  const budgets: Array<readonly [string, number]> = [
    [`refresh:ip:${clientNetwork(ip)}`, limits.perNetwork],
    [`refresh:user:${principal.user_id}`, limits.perPerson],
  ]
  for (const [key, limit] of budgets) {
    const r = await deps.limiter.consume(key, limit, limits.windowMs)
    if (!r.allowed) throw new TooManyRequestsError(r.retryAfter, 'Too many token refreshes; retry later')
  }
  const [user, sessionRevoked] = await Promise.all([
    repo.findById(deps.db, principal.user_id),
    repo.isSessionRevoked(deps.db, principal.session_id),
  ])
  if (!user) throw new UnauthorizedError('Token names no person', 'INVALID_TOKEN')
  const validAfter = user.tokens_valid_after?.getTime() ?? 0
  if (user.erased_at || sessionRevoked || issuedBeforeCutOff(principal, validAfter)) {
    throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
  }
  const { authTime, notAfter } = sessionAge(principal, deps.maxAgeSeconds)
  const issued = await deps.tokens.issueUser({
    userId: user.id,
    sessionId: principal.session_id,
    // The role read with the cut-off, as at login: never the one the old token carried.
    roles: [user.role],
    validAfter: user.tokens_valid_after,
    authTime,
    notAfter,
  })
  return { user, issued }
}
