import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import { clientIp, compileTrustProxy, type TrustProxy } from '../platform/http/client-ip.js'
import { clientNetwork } from '../platform/http/client-network.js'
import { type AppError, NotFoundError, shuttingDown } from '../platform/http/errors.js'
import { UpgradeRequiredError } from './errors.js'
import { type LimitScope, SocketCounts, sessionFullForRefresh, tooManyConnections } from './limits.js'
import type { RealtimeMetrics } from './metrics.js'
import { authorizeUpgrade, refuse, type UpgradeGrant } from './upgrade.js'

export interface AdmissionDeps {
  authenticator: Authenticator
  campaigns: CampaignService
  metrics: RealtimeMetrics
  log: FastifyBaseLogger
  config: Pick<
    Config,
    'TRUST_PROXY' | 'CORS_ORIGINS' | 'PUBLIC_URL' | 'WS_MAX_SOCKETS_PER_SESSION' | 'WS_MAX_SOCKETS_PER_IP'
  >
  /** True once shutdown began: upgrades are refused with 503. */
  closing(): boolean
  /** Complete the handshake of an admitted upgrade (`ip`: the client's full address). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, grant: UpgradeGrant, ip: string): void
}

/**
 * How `Admission.admit` holds a socket limit: true when the client network (`address`) or the
 * session has room, after taking a slot of it when the caller is an upgrade.
 */
export interface Slots {
  address(network: string): boolean
  session(session: string): boolean
}

/** An admitted upgrade: what it may open, and the client's full address (the connection keeps it). */
export interface Admitted {
  grant: UpgradeGrant
  ip: string
}

/**
 * Who may open a socket: shutdown, the per-address and per-session socket limits, the token and
 * the campaign (`admit`), all decided before the upgrade and refused with a plain HTTP answer
 * carrying the REST error body (and counted by code); a plain GET of the same URL (`probe`) is
 * decided by the same checks.
 */
export class Admission {
  readonly counts: SocketCounts
  /** Whose X-Forwarded-For names the client: the same rule as `request.ip` on the HTTP routes. */
  private readonly trustProxy: TrustProxy

  constructor(private readonly deps: AdmissionDeps) {
    this.trustProxy = compileTrustProxy(deps.config.TRUST_PROXY)
    this.counts = new SocketCounts({
      perSession: deps.config.WS_MAX_SOCKETS_PER_SESSION,
      perIp: deps.config.WS_MAX_SOCKETS_PER_IP,
    })
  }

  /**
   * The admission checks of `/ws`, in their one order: shutdown, the client network's socket limit
   * (before the token and campaign: that work is what a flood would cost), the URL, the token
   * (also `Authorization: Bearer` with `bearer`), the user, the campaign (`authorizeUpgrade`),
   * shutdown again (it may have begun meanwhile), the session's socket limit. The upgrade and the
   * probe both run this, so they cannot refuse differently; `slots` says how a limit is held
   * (taken for a socket, or only looked at). Throws the refusal.
   */
  async admit(req: IncomingMessage, slots: Slots, options: { bearer?: boolean } = {}): Promise<Admitted> {
    const { authenticator, campaigns, config } = this.deps
    if (this.deps.closing()) throw shuttingDown()
    const ip = clientIp(req, this.trustProxy)
    if (!slots.address(clientNetwork(ip))) throw tooManyConnections('ip', config.WS_MAX_SOCKETS_PER_IP)
    const grant = await authorizeUpgrade(req, {
      authenticator,
      campaigns,
      allowedOrigins: config.CORS_ORIGINS,
      publicUrl: config.PUBLIC_URL,
      bearer: options.bearer,
    })
    // Shutdown began while the token and campaign were being checked: it has already sent 1012 to
    // the sockets it knows, so one opened now would be left open (and would keep the HTTP server,
    // which waits for every socket, from closing).
    if (this.deps.closing()) throw shuttingDown()
    if (!slots.session(grant.principal.session_id))
      throw tooManyConnections('session', config.WS_MAX_SOCKETS_PER_SESSION)
    return { grant, ip }
  }

  /** An upgrade to `/ws/…`: `admit`, its slots taken for `socket` (given back when it closes). */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const slots: Slots = {
      address: (network) => this.counts.takeIp(socket, network),
      session: (session) => this.counts.takeSession(socket, session),
    }
    this.admit(req, slots).then(
      ({ grant, ip }) => {
        if (!socket.destroyed) this.deps.accept(req, socket, head, grant, ip)
      },
      (err) => this.refuse(socket, err),
    )
  }

  /**
   * A plain GET of `/ws/…` (the probe): `admit` with `Authorization: Bearer` too, looking at the
   * slots without taking one (a probe is no socket). Returns the refusal the upgrade would get, or
   * 426 `UPGRADE_REQUIRED` when it would be admitted; any other failure as thrown.
   */
  async probe(req: IncomingMessage): Promise<unknown> {
    const { WS_MAX_SOCKETS_PER_IP: perIp, WS_MAX_SOCKETS_PER_SESSION: perSession } = this.deps.config
    const free = (scope: LimitScope, limit: number) => (key: string) =>
      limit === 0 || key === '' || this.counts.count(scope, key) < limit
    const slots: Slots = { address: free('ip', perIp), session: free('session', perSession) }
    return this.admit(req, slots, { bearer: true }).then(
      () => new UpgradeRequiredError(),
      (err: unknown) => err,
    )
  }

  /**
   * Take a slot of the client's network (its IPv4 address, its IPv6 /64) for `socket`, whichever
   * endpoint it is upgrading to (`/ws`, `/cable`): one budget per network on this node. Returns the
   * client's full address (the connection keeps it; the limits its actions meet take its network
   * themselves), or undefined after refusing the upgrade with 429 `TOO_MANY_CONNECTIONS`.
   */
  admitAddress(req: IncomingMessage, socket: Duplex): string | undefined {
    const ip = clientIp(req, this.trustProxy)
    if (this.counts.takeIp(socket, clientNetwork(ip))) return ip
    this.refuse(socket, tooManyConnections('ip', this.deps.config.WS_MAX_SOCKETS_PER_IP))
    return undefined
  }

  /**
   * Take a slot of `session` (the caller's key for the authenticated principal; endpoints keep
   * their keys apart) for `socket`, or refuse the upgrade with 429 and return false.
   */
  admitSession(socket: Duplex, session: string): boolean {
    if (this.counts.takeSession(socket, session)) return true
    this.refuse(socket, tooManyConnections('session', this.deps.config.WS_MAX_SOCKETS_PER_SESSION))
    return false
  }

  /**
   * A `/ws` socket admitted with `admitSession` now uses a token of `session` (an `auth` refresh
   * after the person logged in again): its slot moves to that session, as the socket would count
   * had it opened with that token. Returns the refusal (429 `TOO_MANY_CONNECTIONS`, for an
   * `error` frame) when that session already holds its limit here; the slot stays where it was.
   */
  moveSession(socket: Duplex, session: string): AppError | undefined {
    if (this.counts.moveSession(socket, session)) return undefined
    return sessionFullForRefresh(this.deps.config.WS_MAX_SOCKETS_PER_SESSION)
  }

  /** An upgrade to a path no listener owns: 404 before the upgrade rather than a hanging socket. */
  refuseUnknownPath(socket: Duplex): void {
    socket.on('error', () => socket.destroy())
    this.refuse(socket, new NotFoundError('No WebSocket endpoint here', 'NOT_FOUND'))
  }

  /**
   * Refuse an upgrade before the handshake with `err`'s plain HTTP answer (`refuse` in upgrade.ts),
   * counted in `ovasabi_ws_upgrades_refused_total` by code. `/cable` refuses its own upgrades
   * (maintenance, shutdown, the cookie's origin, an unchecked credential) through it too, so both
   * endpoints' refusals are counted there.
   */
  refuse(socket: Duplex, err: unknown): void {
    const code = refuse(socket, err)
    this.deps.metrics.refused.labels(code).inc()
    if (code === 'INTERNAL') this.deps.log.error({ err }, 'WebSocket upgrade failed')
  }
}
