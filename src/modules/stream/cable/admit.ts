import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { ApiKeyCampaignScopeError } from '../../../platform/auth/campaign-scope.js'
import { originAllowed, requestCookie } from '../../../platform/http/browser-cookie.js'
import {
  type AppError,
  ForbiddenError,
  ServiceUnavailableError,
  shuttingDown,
} from '../../../platform/http/errors.js'
import type { Admission } from '../../../realtime/admission.js'
import { refuse } from '../../../realtime/upgrade.js'
import type { AccountService, V1Principal } from '../account.service.js'
import { isCredentialRefusal, MESSAGES } from '../v1.errors.js'

/**
 * What `/cable` uses of the gateway's admission (realtime/admission.ts): its socket limits, and its
 * `refuse`, which counts a refusal in `ovasabi_ws_upgrades_refused_total` as `/ws`'s are. Without
 * `refuse` (a stand-in), refusals are answered the same way but not counted.
 */
export type CableAdmission = Pick<Admission, 'admitSession'> &
  Partial<Pick<Admission, 'refuse'>> & {
    admitAddress(
      ...args: Parameters<Admission['admitAddress']>
    ): string | undefined | Promise<string | undefined>
  }

/** What decides a `/cable` upgrade (a part of `CableServerDeps`, and the server's own state). */
export interface AdmitDeps {
  accounts: Pick<AccountService, 'authenticate'>
  isMaintenance: () => boolean
  log: Pick<FastifyBaseLogger, 'warn'>
  allowedOrigins?: readonly string[]
  admission?: () => CableAdmission | undefined
  /** True once the server's `close()` began. */
  closing: () => boolean
}

/** Who an admitted upgrade is: nobody (no credential, or a refused one) is upgraded only to be told `unauthorized`. */
export type Admitted = { principal: V1Principal; credential: string } | { principal?: undefined }

/** The text a command or an upgrade gets when the credential could not be checked. */
export const UNCHECKED_MESSAGE = 'Your credentials could not be checked just now; please try again'

/**
 * Decide a `/cable` upgrade before the handshake: shutdown and maintenance (503), the `/ws`
 * socket limits (429), the cookie's origin (403) and the credential. Refusals get a plain HTTP
 * answer with the REST error body, as `/ws`'s do (realtime/upgrade.ts); undefined then.
 */
export async function admitUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  deps: AdmitDeps,
): Promise<Admitted | undefined> {
  socket.on('error', () => socket.destroy())
  const admission = deps.admission?.()
  const refused = (err: AppError): undefined => refuseUpgrade(socket, err, admission)
  // Shutdown has begun (or is done): an upgrade accepted now would be left open, or half open.
  if (deps.closing()) return refused(shuttingDown())
  if (deps.isMaintenance()) return refused(new ServiceUnavailableError(MESSAGES.maintenance, 'MAINTENANCE'))
  // The `/ws` upgrade rate and socket limits, counted with `/ws`'s (realtime/admission.ts): the
  // upgrade is counted and the address's slot taken before the credential is checked (that check is
  // what a flood would cost), the slot given back when the TCP socket closes, however it ended.
  // Over any limit: 429 before the upgrade.
  if (admission && (await admission.admitAddress(request, socket)) === undefined) return undefined
  const fromQuery = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token')
  // The cookie rides along with any page's request: like Rails' allowed_request_origins, only
  // the server's own pages (and CORS_ORIGINS) may use it; a token in the URL needs no such check.
  if (!fromQuery && !originAllowed(request, deps.allowedOrigins ?? [])) {
    const message = 'This page may not use the login cookie; send the token (?token=)'
    return refused(new ForbiddenError(message, 'ORIGIN_NOT_ALLOWED'))
  }
  const credential = fromQuery ?? requestCookie(request, 'jwt_token')
  let principal: V1Principal | undefined
  if (credential) {
    try {
      principal = await deps.accounts.authenticate(credential)
    } catch (err) {
      // Only a refusal is `unauthorized` (which tells the client never to come back); a check
      // that got no answer is a 503, after which the client tries again. A key limited to some
      // campaigns is told so (403): the stream registry belongs to none of them.
      if (err instanceof ApiKeyCampaignScopeError) return refused(err)
      if (!isCredentialRefusal(err)) {
        deps.log.warn({ err }, 'cable credential check failed; upgrade refused')
        return refused(new ServiceUnavailableError(UNCHECKED_MESSAGE, 'SERVICE_UNAVAILABLE'))
      }
    }
  }
  if (socket.destroyed) return undefined
  // Shutdown began while the credential was checked: it has already told the sockets it knows.
  if (deps.closing()) return refused(shuttingDown())
  if (!principal || !credential) return {}
  if (admission && !admission.admitSession(socket, sessionOf(principal, credential))) return undefined
  return { principal, credential }
}

/**
 * Refuse a `/cable` upgrade with a plain HTTP answer carrying the REST error body, counted in
 * `ovasabi_ws_upgrades_refused_total` through the gateway's admission when there is one.
 */
export function refuseUpgrade(
  socket: Duplex,
  err: AppError,
  admission: CableAdmission | undefined,
): undefined {
  if (admission?.refuse) admission.refuse(socket, err)
  else refuse(socket, err)
  return undefined
}

/** An API key's stand-in id on `/cable`: never the key itself. */
export function keyId(credential: string): string {
  return `apikey:${createHash('sha256').update(credential).digest('hex').slice(0, 12)}`
}

/**
 * Whose sockets count together against `WS_MAX_SOCKETS_PER_SESSION`: one login, an account's or a
 * console person's (its token's `jti`, as `/ws` counts one session token, so a wall's tabs share
 * it), or one API key. Prefixed so no key can meet a `/ws` session id.
 */
function sessionOf(principal: V1Principal, credential: string): string {
  return principal.kind === 'apikey' ? `cable:${keyId(credential)}` : `cable:token:${principal.token_id}`
}
