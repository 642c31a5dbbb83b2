/** Roles, from most to least powerful. */
export const ROLES = ['admin', 'editor', 'participant', 'guest'] as const
export type Role = (typeof ROLES)[number]

/** Who is calling: a guest session, a registered user, or an API key. */
export interface Principal {
  kind: 'session' | 'user' | 'apikey'
  user_id: string
  session_id: string
  roles: Role[]
  /** Token id (`jti`), for revocation. */
  token_id?: string
  /** Token expiry, seconds since the epoch. */
  exp?: number
  /**
   * When the token was issued, ms since the epoch (its `iat_ms`, else its whole-second `iat`):
   * what a person's "log out everywhere" cut-off is compared with.
   */
  issued_at?: number
  /**
   * The person's "log out everywhere" cut-off when the token was issued (its `va`, ms since the
   * epoch, 0 for none): a token carrying it is refused once the cut-off is later, a token without
   * it (issued before it existed) by its `issued_at`.
   */
  valid_after?: number
  /**
   * A person's token: when they last proved who they are (join, login), seconds since the epoch
   * (its `auth_time`; a token from before that claim, its `iat`). A refresh keeps it, and none is
   * given once it is older than SESSION_MAX_AGE_SECONDS.
   */
  auth_time?: number
  /**
   * An API key limited to these campaign slugs (`ovasabi apikey create --campaign`); absent: every
   * campaign. Enforced by `campaign-scope.ts` (403 `API_KEY_CAMPAIGN_SCOPE`).
   */
  campaigns?: readonly string[]
}

const RANK: Record<Role, number> = { admin: 3, editor: 2, participant: 1, guest: 0 }

/** True when the principal holds `role` or a stronger one. */
export function hasRole(principal: Principal | undefined, role: Role): boolean {
  if (!principal) return false
  return principal.roles.some((r) => RANK[r] >= RANK[role])
}

/** The stable key that scopes a caller's idempotency keys and rate limits. */
export function actorKey(principal: Principal): string {
  return principal.user_id === 'guest' ? `session:${principal.session_id}` : `user:${principal.user_id}`
}
