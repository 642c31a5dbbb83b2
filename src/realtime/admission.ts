import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import { clientIp, compileTrustProxy, type TrustProxy } from '../platform/http/client-ip.js'
import { clientNetwork } from '../platform/http/client-network.js'
import { type AppError, NotFoundError, ServiceUnavailableError } from '../platform/http/errors.js'
import { SocketCounts, sessionFullForRefresh, tooManyConnections } from './limits.js'
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

const shuttingDown = () => new ServiceUnavailableError('The server is shutting down', 'SHUTTING_DOWN')

/**
 * Who may open a socket: shutdown, the per-address and per-session socket limits, the token and
 * the campaign, all decided before the upgrade and refused with a plain HTTP answer carrying the
 * REST error body (and counted by code).
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

  /** An upgrade to `/ws/…`. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    if (this.deps.closing()) {
      this.refuse(socket, shuttingDown())
      return
    }
    const { authenticator, campaigns, config } = this.deps
    // Counted before the token and campaign are checked: that work is what a flood would cost.
    const ip = this.admitAddress(req, socket)
    if (ip === undefined) return
    authorizeUpgrade(req, {
      authenticator,
      campaigns,
      allowedOrigins: config.CORS_ORIGINS,
      publicUrl: config.PUBLIC_URL,
    }).then(
      (grant) => {
        if (socket.destroyed) return
        // Shutdown began while the token and campaign were being checked: it has already sent
        // 1012 to the sockets it knows, so one opened now would be left open (and would keep
        // the HTTP server, which waits for every socket, from closing).
        if (this.deps.closing()) {
          this.refuse(socket, shuttingDown())
          return
        }
        if (!this.admitSession(socket, grant.principal.session_id)) return
        this.deps.accept(req, socket, head, grant, ip)
      },
      (err) => this.refuse(socket, err),
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
