import type { Principal } from '../../platform/auth/principal.js'
import type { Db } from '../../platform/db/database.js'
import { ForbiddenError, UnauthorizedError } from '../../platform/http/errors.js'
import { canonicalLocale } from '../localization/locale.js'
import * as repo from './user.repo.js'
import type { MeResponse, UpdateMeBody } from './user.schema.js'

/**
 * `GET /api/auth/me`: the caller as the authenticator resolved them, and, for a person's token,
 * their own profile and the campaigns they joined. Nothing of anyone else: the id read is the
 * token's own. A person erased since the authenticator's last look (its cache trusts a "not
 * revoked" for up to 10 s on another node) is refused as their token then is, never answered with
 * the blanked row.
 */
export async function whoAmI(db: Db, principal: Principal): Promise<MeResponse> {
  const base = {
    kind: principal.kind,
    user_id: principal.user_id,
    session_id: principal.session_id,
    roles: [...principal.roles],
    expires_at: principal.exp ? new Date(principal.exp * 1000).toISOString() : null,
  }
  if (principal.kind !== 'user') return { ...base, user: null }
  const [row, joined] = await Promise.all([
    repo.findById(db, principal.user_id),
    repo.memberships(db, principal.user_id),
  ])
  if (row?.erased_at) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
  if (!row) return { ...base, user: null }
  return {
    ...base,
    user: {
      id: row.id,
      email: row.email ?? '',
      email_verified_at: row.email_verified_at?.toISOString() ?? null,
      display_name: row.display_name,
      locale: row.locale,
      campaigns: joined.map((m) => ({
        campaign: m.campaign_slug,
        referral_code: m.referral_code,
        joined_at: m.joined_at.toISOString(),
      })),
    },
  }
}

/**
 * `PATCH /api/auth/me`: a person changes their own display name (trimmed, as at a join; the
 * leaderboard and milestones show it from then on) or locale (their mails and notifications'
 * language; null for English). Only their own, by their own token: a guest session or an API key
 * has no profile (403 `PERSON_REQUIRED`). One statement that skips an erased row, so an erasure
 * committed first leaves nothing to write and the token is refused as it then is.
 */
export async function updateMe(db: Db, principal: Principal, input: UpdateMeBody): Promise<MeResponse> {
  if (principal.kind !== 'user')
    throw new ForbiddenError('Only a person signed in has a profile to change', 'PERSON_REQUIRED')
  const changed = await repo.updateProfile(db, principal.user_id, {
    ...(input.display_name !== undefined ? { display_name: input.display_name.trim() } : {}),
    ...(input.locale !== undefined
      ? { locale: input.locale === null ? null : canonicalLocale(input.locale) }
      : {}),
  })
  if (!changed) throw new UnauthorizedError('Token has been revoked', 'TOKEN_REVOKED')
  return whoAmI(db, principal)
}
