import type { Db } from '../../platform/db/database.js'
import type { Principal } from '../../platform/auth/principal.js'
import { isSessionRevoked, isUserErased } from './user.repo.js'

/** How long a "still valid" answer is trusted: an erasure on another node is honoured within this. */
const FRESH_MS = 10_000
const MAX_ENTRIES = 50_000

/**
 * A yes/no question about an id whose "yes" is final: a "yes" is remembered, a "no" is asked
 * again after FRESH_MS, so one read per id and 10 s at most.
 */
function finalAnswers(ask: (id: string) => Promise<boolean>) {
  const yes = new Set<string>()
  const noUntil = new Map<string, number>()
  return {
    async has(id: string, now = Date.now()): Promise<boolean> {
      if (yes.has(id)) return true
      const until = noUntil.get(id)
      if (until !== undefined && until > now) return false
      if (await ask(id)) {
        if (yes.size >= MAX_ENTRIES) yes.clear()
        yes.add(id)
        noUntil.delete(id)
        return true
      }
      if (noUntil.size >= MAX_ENTRIES) noUntil.clear()
      noUntil.set(id, now + FRESH_MS)
      return false
    },
    recheck(id: string): void {
      noUntil.delete(id)
    },
  }
}

/**
 * Whether a token belongs to someone erased, for the authenticator. An erased person's user
 * tokens (valid for up to SESSION_TTL_SECONDS) and the guest sessions they joined from stop
 * working at once on the node that erased them and within 10 s on the others, so nothing more is
 * written under an identity that was forgotten, and their open sockets close at the gateway's
 * next check. Erasure is final (a new join of the same email is a new person).
 */
export function createErasedUsers(db: Db) {
  const users = finalAnswers((id) => isUserErased(db, id))
  const sessions = finalAnswers((id) => isSessionRevoked(db, id))
  return {
    /** The authenticator's `isRevoked`: user tokens by person, guest tokens by session. */
    isRevoked(principal: Principal): Promise<boolean> {
      if (principal.kind === 'user') return users.has(principal.user_id)
      if (principal.kind === 'session') return sessions.has(principal.session_id)
      return Promise.resolve(false)
    },
    /** Called as an erasure commits: ask the database again on the next request. */
    forget(person: { user_id: string; session_ids: string[] }): void {
      users.recheck(person.user_id)
      for (const id of person.session_ids) sessions.recheck(id)
    },
  }
}
