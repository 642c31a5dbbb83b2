import { Type } from 'typebox'

/**
 * `CredentialsRevoked` of a logout or an erasure just committed, on every node: each closes the
 * sockets it covers and forgets what its revocation cache holds of them.
 */
export const CREDENTIALS_REVOKED_CHANNEL = 'ovasabi:auth:revoked'

/** What a logout or an erasure ended. */
export interface CredentialsRevoked {
  user_id: string
  /** The sessions revoked: every token of them, user and guest alike, is refused. */
  session_ids: string[]
  /** Every user token of the person too (log out everywhere, erasure), not only those of the sessions. */
  all: boolean
}

export const credentialsRevokedSchema = Type.Object({
  user_id: Type.String(),
  session_ids: Type.Array(Type.String()),
  all: Type.Boolean(),
})

/** A bus message as `CredentialsRevoked`, or undefined when it is not one. */
export function readCredentialsRevoked(message: unknown): CredentialsRevoked | undefined {
  if (typeof message !== 'object' || message === null) return undefined
  const { user_id, session_ids, all } = message as Record<string, unknown>
  if (typeof user_id !== 'string' || typeof all !== 'boolean' || !Array.isArray(session_ids)) return undefined
  if (!session_ids.every((id) => typeof id === 'string')) return undefined
  return { user_id, session_ids, all }
}
