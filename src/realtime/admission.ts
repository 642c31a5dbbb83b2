import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import { clientIp, compileTrustProxy, type TrustProxy } from '../platform/http/client-ip.js'
import { clientNetwork } from '../platform/http/client-network.js'
import { type AppError, NotFoundError, shuttingDown } from '../platform/http/errors.js'
import { createRateLimiter, type RateLimiter, type RateLimitResult } from '../platform/http/rate-limiter.js'
import { UpgradeRequiredError } from './errors.js'
import {
  type LimitScope,
  SocketCounts,
  sessionFullForRefresh,
  tooManyConnections,
  tooManyUpgrades,
  UPGRADE_WINDOW_MS,
} from './limits.js'
import type { RealtimeMetrics } from './metrics.js'
import { authorizeUpgrade, refuse, type UpgradeGrant } from './upgrade.js'

export interface AdmissionDeps {
  authenticator: Authenticator
  campaigns: CampaignService
  metrics: RealtimeMetrics
  log: FastifyBaseLogger
  /** Where the nodes share their upgrade counts (`WS_UPGRADES_PER_MINUTE_PER_IP`); else per node. */
  redis?: Redis
  config: Pick<
    Config,
    'TRUST_PROXY' | 'CORS_ORIGINS' | 'PUBLIC_URL' | 'WS_MAX_SOCKETS_PER_SESSION' | 'WS_MAX_SOCKETS_PER_IP'
  > &
    // Absent: no upgrade rate (a stand-in admission of a test).
    Partial<Pick<Config, 'WS_UPGRADES_PER_MINUTE_PER_IP'>>
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
  /** The network's count of upgrades this minute, one more counted when the caller is an upgrade. */
  pace(network: string): Promise<RateLimitResult>
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
  /** Upgrades per client network per minute, across `/ws` and `/cable` (and the nodes on Redis). */
  private readonly upgrades: RateLimiter
  private readonly upgradesPerMinute: number

  constructor(private readonly deps: AdmissionDeps) {
    this.trustProxy = compileTrustProxy(deps.config.TRUST_PROXY)
    this.upgradesPerMinute = deps.config.WS_UPGRADES_PER_MINUTE_PER_IP ?? 0
    this.upgrades = createRateLimiter({
      redis: deps.redis,
      prefix: 'ovasabi:ws-upgrades:',
      onFallback: (err) =>
        deps.log.warn(
          { err },
          'WebSocket upgrade rate: Redis failed; each node counts on its own until it answers',
        ),
    })
    this.counts = new SocketCounts({
      perSession: deps.config.WS_MAX_SOCKETS_PER_SESSION,
      perIp: deps.config.WS_MAX_SOCKETS_PER_IP,
    })
  }

  /**
   * The admission checks of `/ws`, in their one order: shutdown, the client network's upgrade rate
   * and socket limit (before the token and campaign: that work is what a flood would cost, opening
   * and closing sockets as much as holding them), the URL, the token
   * (also `Authorization: Bearer` with `bearer`), the user, the campaign (`authorizeUpgrade`),
   * shutdown again (it may have begun meanwhile), the session's socket limit. The upgrade and the
   * probe both run this, so they cannot refuse differently; `slots` says how a limit is held
   * (taken for a socket, or only looked at). Throws the refusal.
   */
  async admit(req: IncomingMessage, slots: Slots, options: { bearer?: boolean } = {}): Promise<Admitted> {
    const { authenticator, campaigns, config } = this.deps
    if (this.deps.closing()) throw shuttingDown()
    const ip = clientIp(req, this.trustProxy)
    const network = clientNetwork(ip)
    const pace = await slots.pace(network)
    if (!pace.allowed) throw tooManyUpgrades(this.upgradesPerMinute, pace.retryAfter)
    if (!slots.address(network)) throw tooManyConnections('ip', config.WS_MAX_SOCKETS_PER_IP)
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
      pace: (network) => this.pace(network, 'consume'),
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
   * slots and the upgrade rate without taking either (a probe is no socket; it is counted against
   * `RATE_LIMIT_PER_MINUTE` as a request). Returns the refusal the upgrade would get, or
   * 426 `UPGRADE_REQUIRED` when it would be admitted; any other failure as thrown.
   */
  async probe(req: IncomingMessage): Promise<unknown> {
    const { WS_MAX_SOCKETS_PER_IP: perIp, WS_MAX_SOCKETS_PER_SESSION: perSession } = this.deps.config
    const free = (scope: LimitScope, limit: number) => (key: string) =>
      limit === 0 || key === '' || this.counts.count(scope, key) < limit
    const slots: Slots = {
      pace: (network) => this.pace(network, 'peek'),
      address: free('ip', perIp),
      session: free('session', perSession),
    }
    return this.admit(req, slots, { bearer: true }).then(
      () => new UpgradeRequiredError(),
      (err: unknown) => err,
    )
  }

  /**
   * Count an upgrade of the client's network (its IPv4 address, its IPv6 /64) and take a slot of
   * it for `socket`, whichever endpoint it is upgrading to (`/ws`, `/cable`): one upgrade rate per
   * network (shared on Redis), one socket budget per network on this node. Returns the client's
   * full address (the connection keeps it; the limits its actions meet take its network
   * themselves), or undefined after refusing the upgrade with 429 (`RATE_LIMITED`,
   * `TOO_MANY_CONNECTIONS`).
   */
  async admitAddress(req: IncomingMessage, socket: Duplex): Promise<string | undefined> {
    const ip = clientIp(req, this.trustProxy)
    const network = clientNetwork(ip)
    const pace = await this.pace(network, 'consume')
    if (!pace.allowed) {
      this.refuse(socket, tooManyUpgrades(this.upgradesPerMinute, pace.retryAfter))
      return undefined
    }
    if (this.counts.takeIp(socket, network)) return ip
    this.refuse(socket, tooManyConnections('ip', this.deps.config.WS_MAX_SOCKETS_PER_IP))
    return undefined
  }

  /** The network's upgrade count this minute: one more counted (`consume`), or only looked at. */
  private pace(network: string, how: 'consume' | 'peek'): Promise<RateLimitResult> {
    const limit = this.upgradesPerMinute
    if (limit === 0 || network === '') return Promise.resolve({ allowed: true, retryAfter: 0, count: 0 })
    return this.upgrades[how](network, limit, UPGRADE_WINDOW_MS)
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
