import type { Db } from '../../platform/db/database.js'
import type { Principal } from '../../platform/auth/principal.js'
import {
  CREDENTIALS_REVOKED_CHANNEL,
  type CredentialsRevoked,
  readCredentialsRevoked,
} from '../../platform/auth/revoked.js'
import type { EventBus } from '../../platform/bus/bus.js'
import { isSessionRevoked, tokenState } from './user.repo.js'

/** How long a "still valid" answer is trusted: an erasure or logout on another node is honoured within this. */
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

/** What a person's user tokens are judged by: erasure (final) and their cut-off (only ever moves on). */
interface TokenState {
  erased: boolean
  /** Tokens issued before this (ms since the epoch) are refused; 0 when never cut off. */
  validAfter: number
}

/** Each person's `TokenState`, asked again after FRESH_MS unless erased (erasure is final). */
function tokenStates(ask: (id: string) => Promise<TokenState>) {
  const known = new Map<string, { state: TokenState; until: number }>()
  return {
    async get(id: string, now = Date.now()): Promise<TokenState> {
      const hit = known.get(id)
      if (hit && (hit.state.erased || hit.until > now)) return hit.state
      const state = await ask(id)
      if (known.size >= MAX_ENTRIES) known.clear()
      known.set(id, { state, until: now + FRESH_MS })
      return state
    },
    recheck(id: string): void {
      known.delete(id)
    },
  }
}

/**
 * Whether a person's token was issued before their cut-off (`validAfter`, ms since the epoch, 0
 * for none): by the cut-off it was issued under when it carries one, since issue times come from
 * each node's clock and the cut-off from the database row, which only moves on.
 */
export function issuedBeforeCutOff(principal: Principal, validAfter: number): boolean {
  return (principal.valid_after ?? principal.issued_at ?? 0) < validAfter
}

/**
 * Whether a token must not be honoured any more, for the authenticator. A user token is refused
 * once its person is erased, once its session is revoked (erasure of the person who joined from
 * it, or a logout), and when it was issued before the person's cut-off ("log out everywhere"); a
 * guest token once its session is revoked. Each takes effect at once on the node that made it
 * (through `forget`) and, announced over the bus (`revoked`, heard through `follow`), at once on
 * the others too, whose gateways close the sockets it covers. A lost message costs at most 10 s
 * here, and the gateway's 30 s re-check still closes the sockets.
 */
export function createRevocations(
  db: Db,
  options: {
    bus?: Pick<EventBus, 'publish' | 'subscribe'>
    /** An announcement that could not be published (the others then honour it within 10 s). */
    onError?: (err: unknown) => void
  } = {},
) {
  const users = tokenStates(async (id) => {
    const row = await tokenState(db, id)
    return { erased: Boolean(row?.erased_at), validAfter: row?.tokens_valid_after?.getTime() ?? 0 }
  })
  const sessions = finalAnswers((id) => isSessionRevoked(db, id))
  async function isRevoked(principal: Principal): Promise<boolean> {
    if (principal.kind === 'session') return sessions.has(principal.session_id)
    if (principal.kind !== 'user') return false
    const [state, revoked] = await Promise.all([
      users.get(principal.user_id),
      sessions.has(principal.session_id),
    ])
    return state.erased || revoked || issuedBeforeCutOff(principal, state.validAfter)
  }
  /** Called as an erasure or a logout commits: ask the database again on the next request. */
  function forget(person: { user_id: string; session_ids: string[] }): void {
    users.recheck(person.user_id)
    for (const id of person.session_ids) sessions.recheck(id)
  }
  return {
    /** The authenticator's `isRevoked`: user tokens by person, session and cut-off; guest tokens by session. */
    isRevoked,
    forget,
    /** Once a logout or an erasure committed: this node forgets at once, every other one once told. */
    async revoked(ended: CredentialsRevoked): Promise<void> {
      forget(ended)
      if (!options.bus) return
      try {
        await options.bus.publish(CREDENTIALS_REVOKED_CHANNEL, ended)
      } catch (err) {
        options.onError?.(err)
      }
    },
    /** Hear every node's `revoked`; resolves once subscribed, with what unsubscribes. */
    async follow(): Promise<() => Promise<void>> {
      if (!options.bus) return async () => {}
      return options.bus.subscribe(CREDENTIALS_REVOKED_CHANNEL, (m) => {
        const ended = readCredentialsRevoked(m)
        if (ended) forget(ended)
      })
    },
  }
}

/** What the user service tells when it revoked something: every node honours it at once. */
export type Revocations = Pick<ReturnType<typeof createRevocations>, 'forget' | 'revoked'>
