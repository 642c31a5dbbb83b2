import type { V1Principal } from '../account.service.js'

/**
 * A socket's last credential check that answered yes, which commands sent within `reuseMs` of its
 * start go on without reading the account again. What revokes a credential or changes its role is
 * announced, and the announcement `forget`s it before re-checking the socket (server.ts): a logout,
 * a token cut-off or a role change (`TOKENS_CUT_OFF_CHANNEL`) and an API key's revocation
 * (`APIKEY_REVOKED_CHANNEL`). A token's expiry needs no read and is honoured at once. So only a
 * change whose announcement was lost waits up to `reuseMs` more for a command to see it; the
 * periodic re-check still bounds those. `reuseMs` 0: every command checks, as REST does.
 */
export class CredentialCheck {
  /** When the last check that answered yes began (ms); none yet: never reused. */
  private verifiedAt = Number.NEGATIVE_INFINITY
  /** Bumped by `forget`: a check under way when a revocation was heard is not reused. */
  private generation = 0

  constructor(
    private readonly reuseMs: number,
    private readonly authenticate: () => Promise<V1Principal>,
  ) {}

  /** Whether a command may go on `principal` (from the last check) without a read. */
  reusable(principal: V1Principal, now = Date.now()): boolean {
    if (now - this.verifiedAt >= this.reuseMs) return false
    // An expired token is refused by the check itself; it is no reason to read the database.
    return principal.exp === undefined || principal.exp * 1000 > now
  }

  /** Checks now; a yes is reusable from when the check began, unless a revocation came meanwhile. */
  async check(): Promise<V1Principal> {
    const started = Date.now()
    const generation = this.generation
    const principal = await this.authenticate()
    if (generation === this.generation) this.verifiedAt = started
    return principal
  }

  /** A revocation that may concern this socket was heard: its next command checks again. */
  forget(): void {
    this.generation++
    this.verifiedAt = Number.NEGATIVE_INFINITY
  }
}
