// Shared by the client and its sockets: which identity a token stands for.

/**
 * The `user_id` claim of a session or user JWT (`guest` for a guest session) and its session
 * (`sid`), read unverified: only to pick the socket path `/ws/{campaign}/{user_id}`, which the
 * server checks against the token, and to tell whether a new token is a socket's own identity.
 */
export function claimsOf(token: string | undefined): { userId?: string; sessionId?: string } {
  const claims = token?.split('.')[1]
  if (!claims) return {}
  try {
    const bytes = Uint8Array.from(atob(claims.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    const { user_id, sid } = JSON.parse(new TextDecoder().decode(bytes)) as {
      user_id?: unknown
      sid?: unknown
    }
    return {
      userId: typeof user_id === 'string' ? user_id : undefined,
      sessionId: typeof sid === 'string' ? sid : undefined,
    }
  } catch {
    return {}
  }
}
