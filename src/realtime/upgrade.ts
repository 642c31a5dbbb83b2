import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { ulid } from 'ulid'
import type { Authenticator } from '../platform/auth/plugin.js'
import { TOKEN_COOKIE } from '../platform/auth/plugin.js'
import { originAllowed, requestCookie } from '../platform/http/browser-cookie.js'
import { assertCampaignInScope } from '../platform/auth/campaign-scope.js'
import { hasRole, type Principal } from '../platform/auth/principal.js'
import {
  AppError,
  ConflictError,
  errorBody,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../platform/http/errors.js'
import { type Campaign, campaignStatus } from '../modules/campaign/campaign.schema.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'

export const WS_PATH = /^\/ws\/([^/?]+)\/([^/?]+)\/?$/
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/
/** The subprotocol a browser names next to its token: `new WebSocket(url, ['ovasabi', token])`. */
export const SUBPROTOCOL = 'ovasabi'

export interface UpgradeGrant {
  principal: Principal
  token: string
  campaign: Campaign
  since?: number
}

/** Where the token came from: a cookie is sent by the browser on any page's behalf. */
export type CredentialSource = 'query' | 'protocol' | 'bearer' | 'cookie'

/**
 * The token from `?token=`, the `Sec-WebSocket-Protocol` list (after `ovasabi`), with `bearer`
 * `Authorization: Bearer <token>`, or the cookie. Only the plain-GET probe of the route reads the
 * header: a page's `fetch` may not send `Sec-WebSocket-Protocol`, and a browser's WebSocket sends
 * no `Authorization` of the page's choosing. Another scheme (`Basic`, from a proxy's login in
 * front of the site) is no credential of ours: it is passed over, as the upgrade passes it over.
 */
export function credentialOf(
  req: IncomingMessage,
  url: URL,
  options: { bearer?: boolean } = {},
): { token: string; source: CredentialSource } | undefined {
  const query = url.searchParams.get('token')
  if (query) return { token: query, source: 'query' }
  const protocols = req.headers['sec-websocket-protocol']
  if (typeof protocols === 'string') {
    const list = protocols.split(',').map((p) => p.trim())
    const token = list.find((p) => p !== SUBPROTOCOL && p.length > 0)
    if (token) return { token, source: 'protocol' }
  }
  if (options.bearer) {
    const [scheme, value] = (req.headers.authorization ?? '').trim().split(/\s+/, 2)
    if (scheme?.toLowerCase() === 'bearer' && value) return { token: value, source: 'bearer' }
  }
  const cookie = requestCookie(req, TOKEN_COOKIE)
  return cookie ? { token: cookie, source: 'cookie' } : undefined
}

function decodeSegment(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new ValidationError('The path has a malformed percent-encoding', [
      { in: 'params', path, message: 'must be valid percent-encoded UTF-8' },
    ])
  }
}

/** Decide an upgrade: who, which campaign, replay point. Throws the `AppError` to refuse with. */
export async function authorizeUpgrade(
  req: IncomingMessage,
  deps: {
    authenticator: Authenticator
    campaigns: Pick<CampaignService, 'get'>
    /** Origins besides the own site whose pages may connect with the cookie (`CORS_ORIGINS`). */
    allowedOrigins?: readonly string[]
    publicUrl?: string
    /** Also take `Authorization: Bearer` (the route's plain-GET probe; see `credentialOf`). */
    bearer?: boolean
  },
): Promise<UpgradeGrant> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const match = WS_PATH.exec(url.pathname)
  if (!match) throw new NotFoundError('No WebSocket endpoint here', 'NOT_FOUND')
  const slug = decodeSegment(match[1]!, '/campaign')
  const userId = decodeSegment(match[2]!, '/user_id')
  if (!SLUG.test(slug)) {
    throw new ValidationError('Campaign slug is invalid', [
      { in: 'params', path: '/campaign', message: 'must be a slug' },
    ])
  }
  const sinceRaw = url.searchParams.get('since')
  let since: number | undefined
  if (sinceRaw !== null) {
    if (!/^\d{1,15}$/.test(sinceRaw)) {
      throw new ValidationError('since must be a non-negative integer event id', [
        { in: 'query', path: '/since', message: 'must be an integer' },
      ])
    }
    since = Number(sinceRaw)
  }
  // A client that offers subprotocols fails a handshake that selects none of them (RFC 6455
  // §4.1): refused here with a reason, rather than opened for a client that drops it at once.
  const offered = req.headers['sec-websocket-protocol']
  if (typeof offered === 'string' && !offered.split(',').some((p) => p.trim() === SUBPROTOCOL)) {
    throw new ValidationError(
      `Sec-WebSocket-Protocol must include "${SUBPROTOCOL}" (e.g. new WebSocket(url, ['${SUBPROTOCOL}', token]))`,
      [{ path: '/headers/sec-websocket-protocol', message: `must include ${SUBPROTOCOL}` }],
    )
  }
  const credential = credentialOf(req, url, { bearer: deps.bearer })
  if (!credential) throw new UnauthorizedError('A token is required (?token=, subprotocol or cookie)')
  if (credential.source === 'cookie' && !originAllowed(req, deps.allowedOrigins ?? [], deps.publicUrl)) {
    throw new ForbiddenError(
      'This page may not use the session cookie; send the token (?token= or subprotocol)',
      'ORIGIN_NOT_ALLOWED',
    )
  }
  const { token } = credential
  const principal = await deps.authenticator.resolve(token)
  if (principal.user_id !== userId) {
    throw new ForbiddenError(
      principal.user_id === 'guest'
        ? 'A guest session connects as /ws/{campaign}/guest'
        : 'The path names another user than the token',
      'USER_MISMATCH',
    )
  }
  // A key limited to other campaigns is refused before the campaign is read (403 API_KEY_CAMPAIGN_SCOPE).
  assertCampaignInScope(principal, slug)
  const campaign = await deps.campaigns.get(slug)
  const closed = campaignClosedTo(campaign, principal)
  if (closed) throw closed
  return { principal, token, campaign, since }
}

/**
 * Why `campaign` takes no socket of `who` (an upgrade refused, an open socket closed), or
 * undefined when it does. An ended or archived campaign takes none. A draft is not announced yet:
 * only editors and admins may preview it (REST shows them the whole campaign), anyone else is
 * refused as REST refuses their actions on it, 409 `CAMPAIGN_NOT_ACTIVE` with `details.status`
 * (REST's public read answers them 404, as for an unknown slug). A scheduled campaign takes every
 * socket: its page is the waiting room.
 */
export function campaignClosedTo(
  campaign: Campaign,
  who: Principal,
  now = new Date(),
): ConflictError | undefined {
  const status = campaignStatus(campaign, now)
  const closed =
    status === 'ended' || status === 'archived' || (status === 'draft' && !hasRole(who, 'editor'))
  if (!closed) return undefined
  return new ConflictError(`Campaign ${campaign.slug} is ${status}`, 'CAMPAIGN_NOT_ACTIVE', { status })
}

/**
 * A handshake `ws` refuses once it was admitted (its own checks come last: a method other than
 * GET, a malformed `Sec-WebSocket-Key`, a version other than 13 (or 8), a `Sec-WebSocket-Protocol` list
 * naming one twice): answered as every other refusal, with the REST error body and counted by
 * code, rather than with `ws`'s plain-text page. `message` is `ws`'s, which names the header.
 */
export function handshakeRefused(message: string): AppError {
  if (message === 'Invalid HTTP method') {
    return new AppError(405, 'METHOD_NOT_ALLOWED', 'A WebSocket handshake is a GET request', {
      headers: { Allow: 'GET' },
    })
  }
  const header = /Sec-WebSocket-[A-Za-z]+|Upgrade/.exec(message)?.[0]
  return new AppError(400, 'VALIDATION_FAILED', message, {
    ...(header ? { details: [{ path: `/headers/${header.toLowerCase()}`, message: 'is malformed' }] } : {}),
    // The versions this server speaks, as RFC 6455 §4.4 asks of a refusal for the version.
    ...(header === 'Sec-WebSocket-Version' ? { headers: { 'Sec-WebSocket-Version': '13, 8' } } : {}),
  })
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * `Retry-After` (seconds) of a refusal whose error names none (a node shutting down names its own:
 * `shuttingDown()`): maintenance (as the REST answer's), a credential check that got no answer, and
 * a client at its socket limit (no time at which a slot frees, only a pace for its retries: a slot
 * frees when it closes one).
 */
const RETRY_AFTER = new Map([
  ['MAINTENANCE', '60'],
  ['SERVICE_UNAVAILABLE', '5'],
  ['TOO_MANY_CONNECTIONS', '10'],
])
/** Written by `refuse` itself: an error's own would contradict them (two lengths, a kept-alive socket). */
const FRAMING = new Set(['content-type', 'content-length', 'connection', 'transfer-encoding'])
/** A header name (RFC 9110 token) and a value of visible ASCII, spaces and tabs: no CR, LF or NUL. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const VALUE = /^[\t\x20-\x7e]*$/

/**
 * The headers a refusal carries: the error's own (as REST sends them: `AppError.headers`), with a
 * `Retry-After` by code when it names none. A header whose name or value could break the answer
 * (CR/LF: a header of the client's making, a split response) is left out, never written as is.
 * The route's plain-GET probe answers with the same ones.
 */
export function refusalHeaders(error: AppError): Record<string, string> {
  const headers = new Map<string, [string, string]>()
  const retryAfter = RETRY_AFTER.get(error.code)
  if (retryAfter) headers.set('retry-after', ['Retry-After', retryAfter])
  for (const [name, raw] of Object.entries(error.headers ?? {})) {
    const value = String(raw)
    const key = name.toLowerCase()
    if (NAME.test(name) && !FRAMING.has(key) && VALUE.test(value)) headers.set(key, [name, value])
  }
  return Object.fromEntries(headers.values())
}

function headerLines(error: AppError): string {
  let lines = ''
  for (const [name, value] of Object.entries(refusalHeaders(error))) lines += `${name}: ${value}\r\n`
  return lines
}

/** Refuse before the upgrade with a plain HTTP answer, the error's headers and the REST error body. */
export function refuse(socket: Duplex, err: unknown): string {
  const error =
    err instanceof AppError ? err : new AppError(500, 'INTERNAL', 'The upgrade could not be completed')
  const body = JSON.stringify(errorBody(error, ulid()))
  const status = error.statusCode
  if (!socket.writable) socket.destroy()
  else {
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        headerLines(error) +
        'Connection: close\r\n\r\n' +
        body,
    )
  }
  socket.once('finish', () => socket.destroy())
  return error.code
}
