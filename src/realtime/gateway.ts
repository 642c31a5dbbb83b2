import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Config } from '../config.js'
import { clientIp, compileTrustProxy, type TrustProxy } from '../platform/http/client-ip.js'
import { type Campaign, campaignStatus, hasFeature, tickRate } from '../modules/campaign/campaign.schema.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { Dispatcher } from '../nexus/dispatcher.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import type { EventBus } from '../platform/bus/bus.js'
import { NotFoundError, ServiceUnavailableError } from '../platform/http/errors.js'
import { ClientFrames } from './client-frames.js'
import { Cluster } from './cluster.js'
import { Connection, type SendLimits } from './connection.js'
import { encode } from './frames.js'
import { writePing } from './wire.js'
import type { EventHistory, StoredMessage } from './history.js'
import { Hub, matches } from './hub.js'
import type { InboundRegistry } from './inbound.js'
import type { RealtimeMetrics } from './metrics.js'
import { Presence } from './presence.js'
import { createRedisPresence } from './presence-redis.js'
import { campaignChannel, REALTIME_CHANNEL } from './publish.js'
import { Room, type RoomSettings } from './room.js'
import { StatsFeed, type StatsProvider } from './stats.js'
import { authorizeUpgrade, refuse, SUBPROTOCOL, type UpgradeGrant } from './upgrade.js'

export interface GatewayDeps {
  authenticator: Authenticator
  campaigns: CampaignService
  dispatcher: Dispatcher
  history: EventHistory
  inbound: InboundRegistry
  bus: EventBus
  redis?: Redis
  metrics: RealtimeMetrics
  /** A campaign's `stats_update` figures (counters, leaderboard); without it no such frames go out. */
  stats?: StatsProvider
  config: Pick<
    Config,
    | 'WS_MAX_PAYLOAD'
    | 'WS_MESSAGES_PER_SECOND'
    | 'WS_SLOW_CLIENT_GRACE_MS'
    | 'WS_HEARTBEAT_MS'
    | 'WS_PRESENCE_LEAVE_MS'
    | 'WS_IDLE_MS'
    | 'TRUST_PROXY'
    | 'CORS_ORIGINS'
    | 'PUBLIC_URL'
  >
  log: FastifyBaseLogger
}

/** Default per-socket outgoing limits: ~64 KB in flight before presence coalesces, 1 MB of queued events. */
const SOFT_BYTES = 64 * 1024
const QUEUE_BYTES = 1024 * 1024
const REVALIDATE_MS = 30_000
const SWEEP_MS = 1000
const PROTOCOL_CLOSE: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
}

const shuttingDown = () => new ServiceUnavailableError('The server is shutting down', 'SHUTTING_DOWN')

export function roomSettings(c: Campaign): RoomSettings {
  const cap = Number((c.metadata.custom_rules as Record<string, unknown> | undefined)?.max_cursors)
  return {
    rate: tickRate(c),
    maxCursors: Number.isInteger(cap) && cap > 0 ? Math.min(cap, 1000) : 50,
    presence: hasFeature(c, 'presence'),
  }
}

/**
 * The WebSocket gateway `/ws/{campaign}/{user_id}`: upgrades, per-campaign rooms and ticks,
 * delivery of published frames, heartbeats, token expiry, scale-out over Redis.
 */
export class Gateway {
  readonly nodeId = randomBytes(4).toString('base64url')
  readonly hub = new Hub()
  readonly limits: SendLimits
  private readonly wss: WebSocketServer
  private readonly presence: Presence
  private readonly cluster?: Cluster
  private readonly frames: ClientFrames
  private readonly stats?: StatsFeed
  private readonly subscriptions = new Map<string, Promise<Array<() => Promise<void>>>>()
  private readonly stopFns: Array<() => Promise<void>> = []
  private seq = 0
  private housekeeping?: NodeJS.Timeout
  private sweeps = 0
  private lastRevalidate = Date.now()
  private closing = false

  /** Whose X-Forwarded-For names the client: the same rule as `request.ip` on the HTTP routes. */
  private readonly trustProxy: TrustProxy

  constructor(private readonly deps: GatewayDeps) {
    this.trustProxy = compileTrustProxy(deps.config.TRUST_PROXY)
    this.limits = {
      softBytes: SOFT_BYTES,
      queueBytes: QUEUE_BYTES,
      graceMs: deps.config.WS_SLOW_CLIENT_GRACE_MS,
    }
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: deps.config.WS_MAX_PAYLOAD,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
    const onError = (err: unknown) => deps.log.warn({ err }, 'realtime bus error')
    if (deps.redis) {
      this.cluster = new Cluster(this.nodeId, deps.bus, onError)
      const backend = createRedisPresence({
        redis: deps.redis,
        nodeId: this.nodeId,
        onReaped: (node) => {
          this.dropNode(node)
          this.cluster!.announceDown(node)
        },
        // The others dropped this node's cursors when they reaped it: they get them all again.
        onRejoined: () => {
          for (const room of this.hub.rooms.values()) room.requestSync()
        },
      })
      this.presence = new Presence(deps.config.WS_PRESENCE_LEAVE_MS, backend)
    } else {
      this.presence = new Presence(deps.config.WS_PRESENCE_LEAVE_MS)
    }
    if (deps.stats) {
      this.stats = new StatsFeed({
        read: deps.stats,
        // A database outage would repeat this every second per campaign: warn once, then debug.
        onError: (err, campaign, repeated) =>
          deps.log[repeated ? 'debug' : 'warn']({ err, campaign }, 'campaign stats read failed'),
      })
    }
    this.frames = new ClientFrames({
      ...deps,
      limits: this.limits,
      close: (conn, code, reason) => this.close(conn, code, reason),
      room: (conn) => this.hub.rooms.get(conn.campaign),
    })
  }

  async start(): Promise<void> {
    this.stopFns.push(
      await this.deps.bus.subscribe(REALTIME_CHANNEL, (m) => this.deliver(m as StoredMessage)),
    )
    if (this.cluster) this.stopFns.push(await this.cluster.onNodeDown((node) => this.dropNode(node)))
    const off = this.deps.campaigns.onChange((c) => this.campaignChanged(c))
    this.stopFns.push(async () => void off())
    this.housekeeping = setInterval(() => this.sweep(), SWEEP_MS)
    this.housekeeping.unref()
  }

  /** Node's 'upgrade' event: returns false when the path is not ours (e.g. `/cable`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!req.url?.startsWith('/ws/')) return false
    socket.on('error', () => socket.destroy())
    if (this.closing) {
      this.refused(socket, shuttingDown())
      return true
    }
    const { authenticator, campaigns, config } = this.deps
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
        if (this.closing) return this.refused(socket, shuttingDown())
        this.wss.handleUpgrade(req, socket, head, (ws) => void this.open(ws, grant, req))
      },
      (err) => this.refused(socket, err),
    )
    return true
  }

  /** An upgrade to a path no listener owns: 404 before the upgrade rather than a hanging socket. */
  refuseUnknownPath(socket: Duplex): void {
    socket.on('error', () => socket.destroy())
    this.refused(socket, new NotFoundError('No WebSocket endpoint here', 'NOT_FOUND'))
  }

  private refused(socket: Duplex, err: unknown) {
    const code = refuse(socket, err)
    this.deps.metrics.refused.labels(code).inc()
    if (code === 'INTERNAL') this.deps.log.error({ err }, 'WebSocket upgrade failed')
  }

  private room(campaign: Campaign): Room {
    let room = this.hub.rooms.get(campaign.slug)
    if (room) return room
    const { metrics } = this.deps
    const sentPresence = metrics.framesSent.labels('presence_update')
    const coalesced = metrics.dropped.labels('presence_coalesced')
    const sentStats = metrics.framesSent.labels('stats_update')
    const stats = this.stats
    room = new Room(campaign.slug, roomSettings(campaign), {
      limits: this.limits,
      activeUsers: (slug) => this.presence.count(slug),
      shareLocal: this.cluster ? (slug, delta, full) => this.cluster!.share(slug, delta, full) : undefined,
      stats: stats ? (slug) => stats.poll(slug) : undefined,
      onSent: (n, c, s) => {
        if (n > 0) sentPresence.inc(n)
        if (c > 0) coalesced.inc(c)
        if (s > 0) sentStats.inc(s)
      },
      onSlow: (conn) => this.close(conn, 1013, 'SLOW_CONSUMER'),
    })
    this.hub.rooms.set(campaign.slug, room)
    // Start the first read now: the room's first tick then has figures for the new socket.
    stats?.poll(campaign.slug)
    const r = room
    const subs = Promise.all([
      this.deps.bus.subscribe(campaignChannel(campaign.slug), (m) => this.deliver(m as StoredMessage)),
      ...(this.cluster ? [this.subscribeCursors(campaign.slug, r, this.cluster)] : []),
    ])
    this.subscriptions.set(campaign.slug, subs)
    return room
  }

  /**
   * The other nodes' cursors of this campaign: their changes from now on and, once listening,
   * the cursors as they stand (changes made before this node listened never reached it).
   */
  private async subscribeCursors(slug: string, room: Room, cluster: Cluster) {
    const off = await cluster.subscribe(slug, {
      merge: (node, d, full) => room.merge(node, d, full),
      syncRequested: () => room.requestSync(),
    })
    cluster.requestSync(slug)
    return off
  }

  private async open(ws: WebSocket, grant: UpgradeGrant, req: IncomingMessage) {
    const { principal, campaign } = grant
    const seq = ++this.seq
    const conn = new Connection(ws, {
      id: `${this.nodeId}.${seq.toString(36)}`,
      seq,
      campaign: campaign.slug,
      user_id: principal.user_id,
      session_id: principal.session_id,
      roles: principal.roles,
      kind: principal.kind,
      token: grant.token,
      expiresAt: principal.exp ? principal.exp * 1000 : 0,
      ip: clientIp(req, this.trustProxy),
      burst: this.deps.config.WS_MESSAGES_PER_SECOND * 2,
    })
    // Live events wait until `connected` (and any replay) went out first.
    conn.replaying = []
    conn.replayIds = []
    const room = this.room(campaign)
    this.hub.add(room, conn)
    this.presence.join(campaign.slug, conn.presenceKey, conn.sessionKey)
    this.deps.metrics.connections.inc()
    ws.on('message', (data, isBinary) => this.frames.handle(conn, data, isBinary))
    ws.on('pong', () => {
      conn.alive = true
    })
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself on protocol errors; record the code it closed with.
      if (!conn.closeCode) conn.closeCode = PROTOCOL_CLOSE[err.code ?? ''] ?? 1002
    })
    ws.on('close', (code) => void this.closed(conn, code))
    try {
      await this.subscriptions.get(campaign.slug)
      const latest = await this.deps.history.latest(campaign.slug)
      if (!conn.open) return
      conn.write(
        encode({
          type: 'connected',
          session_id: conn.session_id,
          user_id: conn.user_id,
          campaign: campaign.slug,
          cursor_id: conn.connection_id,
          active_users: this.presence.count(campaign.slug),
          server_time: new Date().toISOString(),
          tick_rate: room.settings.rate,
          max_cursors: room.settings.maxCursors,
          last_event_id: latest,
          expires_at: conn.expiresAt ? new Date(conn.expiresAt).toISOString() : null,
        }),
      )
      this.deps.metrics.framesSent.labels('connected').inc()
      let after = 0
      if (grant.since !== undefined) after = await this.replay(conn, grant.since)
      const held = conn.replaying
      const ids = conn.replayIds!
      conn.replaying = null
      conn.replayIds = null
      const now = Date.now()
      for (let i = 0; i < held.length; i++) {
        if (ids[i]! > 0 && ids[i]! <= after) continue
        conn.sendEvent(held[i]!, this.limits, now)
      }
    } catch (err) {
      this.deps.log.error({ err }, 'WebSocket open failed')
      this.close(conn, 1011, 'INTERNAL')
    }
  }

  /** Send what the client missed since `since`; returns the last id it now has. */
  private async replay(conn: Connection, since: number): Promise<number> {
    const replay = await this.deps.history.since(conn.campaign, since)
    if ('resync' in replay) {
      conn.write(encode({ type: 'resync_required', since, latest_id: replay.latest }))
      this.deps.metrics.framesSent.labels('resync_required').inc()
      return replay.latest
    }
    let sent = 0
    for (const e of replay.events) {
      if (!matches(e.audience, conn)) continue
      conn.write(encode(e.frame))
      sent++
    }
    if (sent > 0) this.deps.metrics.framesSent.labels('campaign_event').inc(sent)
    return Math.max(since, replay.latest)
  }

  /** A published frame: serialised once, written to (or queued for) each local socket it names. */
  private deliver(message: StoredMessage) {
    const { audience, frame } = message
    if (!audience || !frame || typeof frame.type !== 'string') return
    let data: Buffer | undefined
    let sent = 0
    let dropped = 0
    const now = Date.now()
    const id = typeof frame.id === 'number' ? frame.id : 0
    for (const c of this.hub.targets(audience)) {
      data ??= encode(frame)
      if (c.replaying) {
        c.replaying.push(data)
        c.replayIds!.push(id)
        sent++
      } else if (c.sendEvent(data, this.limits, now)) sent++
      else dropped++
    }
    if (sent > 0) this.deps.metrics.framesSent.labels(frame.type).inc(sent)
    if (dropped > 0) this.deps.metrics.dropped.labels('queue_full').inc(dropped)
  }

  private campaignChanged(c: Campaign) {
    const room = this.hub.rooms.get(c.slug)
    if (!room) return
    room.configure(roomSettings(c))
    const status = campaignStatus(c)
    if (status === 'ended' || status === 'archived') {
      for (const conn of room.conns) this.close(conn, 1000, 'CAMPAIGN_NOT_ACTIVE')
    }
  }

  /** Another node died: its cursors leave every room here. */
  private dropNode(node: string) {
    for (const room of this.hub.rooms.values()) for (const id of room.board.idsOf(node)) room.board.remove(id)
  }

  close(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return
    conn.closing = true
    conn.closeCode = code
    conn.ws.close(code, reason)
    // A socket that does not answer the close handshake (paused, dead) is cut.
    setTimeout(() => conn.ws.terminate(), 2000).unref()
  }

  private async closed(conn: Connection, code: number) {
    const slug = conn.campaign
    this.hub.rooms.get(slug)?.removeCursor(conn.connection_id)
    const room = this.hub.remove(conn)
    if (room) {
      room.retire()
      this.hub.rooms.delete(slug)
      const subs = this.subscriptions.get(slug)
      this.subscriptions.delete(slug)
      void subs?.then((offs) => Promise.all(offs.map((off) => off()))).catch(() => {})
    }
    this.presence.leave(slug, conn.presenceKey)
    this.deps.metrics.connections.dec()
    this.deps.metrics.closes.labels(String(conn.closeCode || code)).inc()
    try {
      await this.deps.inbound.closed(conn.info())
    } catch (err) {
      this.deps.log.warn({ err }, 'inbound close handler failed')
    }
  }

  /** Once a second: token expiry, idle marks, heartbeats, periodic re-validation. */
  private sweep() {
    const now = Date.now()
    // Each socket is pinged once per heartbeat period, but in its own slot of the period: one
    // sweep pinging every socket at once stalled the event loop (and every tick) at N = 1000.
    const slots = Math.max(1, Math.round(this.deps.config.WS_HEARTBEAT_MS / SWEEP_MS))
    const slot = this.sweeps++ % slots
    const revalidate = now - this.lastRevalidate >= REVALIDATE_MS
    if (revalidate) this.lastRevalidate = now
    const idleMs = this.deps.config.WS_IDLE_MS
    const toCheck: Connection[] = []
    for (const room of this.hub.rooms.values()) {
      for (const c of room.conns) {
        if (c.closing) continue
        if (c.expiresAt && now >= c.expiresAt) {
          this.frames.error(c, 'TOKEN_EXPIRED', 'The token expired; reconnect with a fresh one')
          this.close(c, 1008, 'TOKEN_EXPIRED')
          continue
        }
        if (!c.idle && now - c.lastInput >= idleMs) {
          c.idle = true
          room.markIdle(c)
        }
        if (c.seq % slots === slot) {
          if (!c.alive) {
            c.closeCode = 1006
            c.closing = true
            c.ws.terminate()
            continue
          }
          c.alive = false
          writePing(c.ws)
        }
        if (revalidate) toCheck.push(c)
      }
    }
    if (toCheck.length > 0) void this.revalidate(toCheck)
    this.stats?.prune((slug) => this.hub.rooms.has(slug), now)
  }

  /** Revoked API keys and tokens close their sockets too, not only expired ones. */
  private async revalidate(conns: Connection[]) {
    for (const c of conns) {
      if (c.closing) continue
      try {
        await this.deps.authenticator.resolve(c.token)
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'UNAUTHORIZED'
        this.frames.error(c, code, 'The credential is no longer valid')
        this.close(c, 1008, code)
      }
    }
  }

  /** Shutdown: every socket gets 1012 (reconnect elsewhere); this node leaves the cluster. */
  async shutdown(): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.housekeeping)
    const open = [...this.hub.all()]
    const done = Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === 3) return resolve()
            c.ws.once('close', () => resolve())
            this.close(c, 1012, 'SERVER_RESTART')
          }),
      ),
    )
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000).unref())])
    for (const c of open) c.ws.terminate()
    for (const room of this.hub.rooms.values()) room.stop()
    this.stats?.close()
    await this.presence.close()
    this.cluster?.announceDown(this.nodeId)
    for (const off of this.stopFns) await off().catch(() => {})
    for (const subs of this.subscriptions.values()) {
      const offs = await subs.catch(() => [])
      for (const off of offs) await off().catch(() => {})
    }
    this.wss.close()
  }
}
