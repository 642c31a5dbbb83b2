import type { Db } from '../../platform/db/database.js'

/** How long a "not erased" answer is trusted: an erasure on another node is honoured within this. */
const FRESH_MS = 10_000
const MAX_ENTRIES = 50_000

/**
 * Whether a user token's person has been erased, for the authenticator: an erased person's tokens
 * (valid for up to SESSION_TTL_SECONDS) stop working at once on the node that erased them and
 * within 10 s on the others, so nothing more is written under an identity that was forgotten.
 * Erasure is final (a new join of the same email is a new person), so an erased id is remembered;
 * a live one is asked again after 10 s.
 */
export function createErasedUsers(db: Db) {
  const erased = new Set<string>()
  const liveUntil = new Map<string, number>()
  return {
    async isErased(userId: string, now = Date.now()): Promise<boolean> {
      if (erased.has(userId)) return true
      const until = liveUntil.get(userId)
      if (until !== undefined && until > now) return false
      const row = await db
        .selectFrom('service_user_master')
        .select('erased_at')
        .where('id', '=', userId)
        .executeTakeFirst()
      if (row?.erased_at) {
        if (erased.size >= MAX_ENTRIES) erased.clear()
        erased.add(userId)
        liveUntil.delete(userId)
        return true
      }
      if (liveUntil.size >= MAX_ENTRIES) liveUntil.clear()
      liveUntil.set(userId, now + FRESH_MS)
      return false
    },
    /** Called as the erasure commits: ask the database again on the next request. */
    forget(userId: string): void {
      liveUntil.delete(userId)
    },
  }
}
