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
  const ended: LoggedOut = { user_id: principal.user_id, session_ids: [principal.session_id] }
  const person = principal.kind === 'user' ? principal.user_id : undefined
  await db.transaction().execute(async (trx) => {
    if (!all || !person) return repo.revokeSessions(trx, ended.session_ids, 'logout')
    ended.tokens_valid_after = await repo.cutOffTokens(trx, person, new Date())
    const mine = await repo.sessionIds(trx, person)
    const shared = new Set(await repo.sessionsSharedWithOthers(trx, mine, person))
    ended.session_ids.push(...mine.filter((id) => id !== principal.session_id && !shared.has(id)))
    await repo.revokeSessions(trx, ended.session_ids, 'logout_all')
  })
  return ended
}
