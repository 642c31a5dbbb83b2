import { eachLimited } from '../../../platform/concurrency.js'
import type { V1Principal } from '../account.service.js'
import { isCredentialRefusal } from '../v1.errors.js'

/** How often every open `/cable` socket's credential is checked again (as `/ws` does its tokens). */
export const RECHECK_MS = 30_000
/** Credential checks in flight at once during a pass (each may read the database). */
export const RECHECK_CONCURRENCY = 16

/** What a socket is judged by: its credential, and what to do with the answer. */
export interface Checked {
  credential: string
  /** False once it closed: skipped, and a late answer is dropped. */
  open(): boolean
  /** Still valid: the principal as it stands now (a role change re-authorises its subscriptions). */
  keep(principal: V1Principal): void
  /** No longer valid (revoked, cut off, expired, deleted): the socket is told and closed. */
  refuse(): void
}

/** What a pass found: sockets refused (and closed), checks that got no answer (sockets kept). */
export interface RecheckResult {
  refused: number
  unanswered: number
  /** The last check's failure to get an answer, for the log. */
  lastError?: unknown
}

/**
 * Checks `sockets` `RECHECK_CONCURRENCY` at a time. Only a refusal of the credential (401) closes
 * a socket: a database that cannot answer for a moment must not close every socket of the node,
 * so such a check is only counted (the caller logs and counts the pass) and the socket judged
 * again on the next pass. A socket that closed meanwhile counts for neither.
 */
export async function recheck(
  sockets: Checked[],
  authenticate: (credential: string) => Promise<V1Principal>,
): Promise<RecheckResult> {
  const result: RecheckResult = { refused: 0, unanswered: 0 }
  await eachLimited(sockets, RECHECK_CONCURRENCY, async (s) => {
    if (!s.open()) return
    try {
      const principal = await authenticate(s.credential)
      if (s.open()) s.keep(principal)
    } catch (err) {
      if (!s.open()) return
      if (isCredentialRefusal(err)) {
        result.refused++
        s.refuse()
      } else {
        result.unanswered++
        result.lastError = err
      }
    }
  })
  return result
}
