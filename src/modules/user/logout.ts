import type { Principal } from '../../platform/auth/principal.js'
import type { Db } from '../../platform/db/database.js'
import { ForbiddenError } from '../../platform/http/errors.js'
import * as repo from './user.repo.js'

/** What a logout ended: the sessions revoked and, with `all`, the person's new token cut-off. */
export interface LoggedOut {
  user_id: string
  session_ids: string[]
  tokens_valid_after?: Date
}

/**
 * Ends the caller's session: every token of it, user and guest alike, is refused from now on
 * (`service_user_revoked_session`, the table erasure revokes sessions in, purged only once no
 * token of a session can still be valid). Two people who joined from one browser share its
 * session: it ends for both, as whoever logs out of a browser expects.
 *
 * With `all` (a person's token), also every user token of the person issued before now (their
 * cut-off: logins without a guest session start sessions nothing else names) and the sessions
 * they joined or logged in from, whose guest tokens could otherwise join them again without a
 * password (see `admitExisting`). One someone else also joined from stays theirs, as at erasure.
 */
export async function logOut(db: Db, principal: Principal, all: boolean): Promise<LoggedOut> {
  if (principal.kind === 'apikey') {
    throw new ForbiddenError(
      'An API key has no session to log out of; an admin revokes keys',
      'NOT_A_SESSION',
    )
  }
  const person = principal.kind === 'user' ? principal.user_id : undefined
  return db.transaction().execute(async (trx) => {
    if (all && person) return endEverySession(trx, person, 'logout_all', { current: principal.session_id })
    await repo.revokeSessions(trx, [principal.session_id], 'logout')
    return { user_id: principal.user_id, session_ids: [principal.session_id] }
  })
}

/**
 * Every user token of `person` issued before now is refused from now on (their cut-off), and the
 * sessions they joined or logged in from are revoked for `reason`, with `current` (the caller's
 * own, whatever it is) — but one another person also joined from, which stays theirs, as at
 * erasure, and `kept` (the caller's own, which goes on with a token issued after the cut-off).
 * Run it in a transaction (`trx`); tell `Revocations` once it has committed.
 */
export async function endEverySession(
  trx: Db,
  person: string,
  reason: string,
  sessions: { current?: string; kept?: string } = {},
): Promise<LoggedOut> {
  const { current, kept } = sessions
  const tokens_valid_after = await repo.cutOffTokens(trx, person, new Date())
  const mine = await repo.sessionIds(trx, person)
  const shared = new Set(await repo.sessionsSharedWithOthers(trx, mine, person))
  const session_ids = [
    ...(current ? [current] : []),
    ...mine.filter((id) => id !== current && id !== kept && !shared.has(id)),
  ]
  await repo.revokeSessions(trx, session_ids, reason)
  return { user_id: person, session_ids, ...(tokens_valid_after ? { tokens_valid_after } : {}) }
}
