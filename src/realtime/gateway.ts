import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Config } from '../config.js'
import { type Campaign, campaignStatus } from '../modules/campaign/campaign.schema.js'
import type { CampaignService } from '../modules/campaign/campaign.service.js'
import type { Dispatcher } from '../nexus/dispatcher.js'
import { type AppError, ConflictError } from '../platform/http/errors.js'
import type { Authenticator } from '../platform/auth/plugin.js'
import { CREDENTIALS_REVOKED_CHANNEL, readCredentialsRevoked } from '../platform/auth/revoked.js'
import type { EventBus } from '../platform/bus/bus.js'
import { eachLimited } from '../platform/concurrency.js'
import { Admission, type AdmissionDeps } from './admission.js'
import { ClientFrames } from './client-frames.js'
import { Cluster } from './cluster.js'
import { Connection, deliveryOf, type SendLimits, sendLimits } from './connection.js'
import { encode, errorFrame } from './frames.js'
import { connectedFrame, finishOpening } from './opening.js'
import type { EventHistory, StoredMessage } from './history.js'
import { Hub } from './hub.js'
import type { InboundRegistry } from './inbound.js'
import { closeCodeLabel, type RealtimeMetrics } from './metrics.js'
import { Presence } from './presence.js'
import { createRedisPresence } from './presence-redis.js'
import { REALTIME_CHANNEL } from './publish.js'
import type { Room } from './room.js'
import { Rooms } from './rooms.js'
import { StatsFeed, type StatsProvider } from './stats.js'
import { closeRefused, type SweepDeps, Sweeper, SWEEP_MS } from './sweep.js'
import { campaignClosedTo, handshakeRefused, SUBPROTOCOL, type UpgradeGrant } from './upgrade.js'

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
  config: AdmissionDeps['config'] &
    SweepDeps['config'] &
    Pick<
      Config,
      | 'WS_MAX_PAYLOAD'
      | 'WS_MESSAGES_PER_SECOND'
      | 'WS_SLOW_CLIENT_GRACE_MS'
      | 'WS_PRESENCE_LEAVE_MS'
      | 'JSON_MAX_DEPTH'
    >
  log: FastifyBaseLogger
}

/** Sweeps between two re-reads of the campaigns of this node's rooms (see `recheckCampaigns`). */
const RECHECK_CAMPAIGNS_EVERY = 5
const RECHECK_CONCURRENCY = 16

/** The code `ws` closes a socket with for each protocol error it meets (the others are 1002). */
const PROTOCOL_CLOSE: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  // A message in more fragments, or buffered chunks, than `ws` keeps.
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
}

/**
 * The WebSocket gateway `/ws/{campaign}/{user_id}`: upgrades, per-campaign rooms and ticks,
 * delivery of published frames, heartbeats, token expiry, scale-out over Redis.
 */
export class Gateway {
  readonly nodeId = randomBytes(4).toString('base64url')
  readonly hub: Hub
  readonly limits: SendLimits
  private readonly wss: WebSocketServer
  private readonly presence: Presence
  private readonly cluster?: Cluster
  private readonly frames: ClientFrames
  private readonly stats?: StatsFeed
  private readonly stopFns: Array<() => Promise<void>> = []
  private seq = 0
  private housekeeping?: NodeJS.Timeout
  private closing = false
  private sweeps = 0
  private rechecking = false
  /** Shutdown, socket limits, token and campaign: decided before the upgrade. */
  readonly admission: Admission
  private readonly sweeper: Sweeper
  private readonly rooms: Rooms
  /** Each socket's TCP socket: what the admission's socket-limit slots are held for. */
  private readonly tcp = new WeakMap<Connection, Duplex>()

  constructor(private readonly deps: GatewayDeps) {
    this.hub = new Hub((campaign, group) => deps.inbound.members(campaign, group))
    this.admission = new Admission({
      ...deps,
      closing: () => this.closing,
      accept: (req, socket, head, grant, ip) =>
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          void this.open(ws, grant, { ip, userAgent: req.headers['user-agent'] }, socket)
        }),
    })
    this.limits = sendLimits(deps.config.WS_SLOW_CLIENT_GRACE_MS)
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: deps.config.WS_MAX_PAYLOAD,
      clientTracking: false,
      // Pings are answered by `ClientFrames.ping`, within the socket's inbound rate.
      autoPong: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
    this.wss.on('wsClientError', (err: Error, socket: Duplex) =>
      this.admission.refuse(socket, handshakeRefused(err.message)),
    )
    const onError = (err: unknown) => deps.log.warn({ err }, 'realtime bus error')
    if (deps.redis) {
      this.cluster = new Cluster(this.nodeId, deps.bus, onError)
      const backend = createRedisPresence({
        redis: deps.redis,
        nodeId: this.nodeId,
        onReaped: (node) => {
          this.rooms.dropNode(node)
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
      maxDepth: deps.config.JSON_MAX_DEPTH,
      close: (conn, code, reason) => this.close(conn, code, reason),
      room: (conn) => this.hub.rooms.get(conn.campaign),
      setSession: (conn, session) => this.setSession(conn, session),
    })
    this.rooms = new Rooms({
      ...deps,
      hub: this.hub,
      limits: this.limits,
      cluster: this.cluster,
      stats: this.stats,
      activeUsers: (slug) => this.presence.count(slug),
      deliver: (m) => this.deliver(m),
      onSlow: (conn) => this.close(conn, 1013, 'SLOW_CONSUMER'),
    })
    this.sweeper = new Sweeper({
      ...deps,
      hub: this.hub,
      frames: this.frames,
      stats: this.stats,
      close: (conn, code, reason) => this.close(conn, code, reason),
    })
  }

  async start(): Promise<void> {
    this.stopFns.push(
      await this.deps.bus.subscribe(REALTIME_CHANNEL, (m) => this.deliver(m as StoredMessage)),
    )
    if (this.cluster) this.stopFns.push(await this.cluster.onNodeDown((node) => this.rooms.dropNode(node)))
    this.stopFns.push(await this.deps.bus.subscribe(CREDENTIALS_REVOKED_CHANNEL, (m) => this.closeRevoked(m)))
    const off = this.deps.campaigns.onChange((c) => this.campaignChanged(c))
    this.stopFns.push(async () => void off())
    this.housekeeping = setInterval(() => {
      this.sweeper.run()
      this.followSchedules()
      if (++this.sweeps % RECHECK_CAMPAIGNS_EVERY === 0) void this.recheckCampaigns()
    }, SWEEP_MS)
    this.housekeeping.unref()
  }

  /** Node's 'upgrade' event: returns false when the path is not ours (e.g. `/cable`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!req.url?.startsWith('/ws/')) return false
    this.admission.handle(req, socket, head)
    return true
  }

  /** An upgrade to a path no listener owns: 404 before the upgrade rather than a hanging socket. */
  refuseUnknownPath(socket: Duplex): void {
    this.admission.refuseUnknownPath(socket)
  }

  private async open(
    ws: WebSocket,
    grant: UpgradeGrant,
    client: { ip: string; userAgent?: string },
    socket: Duplex,
  ) {
    // `connected` comes first (section 4): the client's frames stay unread (in the kernel's
    // buffers, so a flood pushes back on the client) until it and any replay went out. Paused
    // before anything was read: the handshake's callback runs before the socket's first read.
    ws.pause()
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
      ip: client.ip,
      userAgent: client.userAgent,
      messagesPerSecond: this.deps.config.WS_MESSAGES_PER_SECOND,
    })
    this.tcp.set(conn, socket)
    const room = this.rooms.open(campaign)
    this.hub.add(room, conn)
    this.presence.join(campaign.slug, conn.presenceKey, conn.sessionKey)
    this.deps.metrics.connections.inc()
    ws.on('message', (data, isBinary) => this.frames.handle(conn, data, isBinary))
    ws.on('ping', (data) => this.frames.ping(conn, data))
    ws.on('pong', () => {
      conn.alive = true
    })
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself on protocol errors; record the code it closed with.
      if (!conn.closeCode) conn.closeCode = PROTOCOL_CLOSE[err.code ?? ''] ?? 1002
    })
    ws.on('close', (code) => void this.closed(conn, code))
    try {
      await this.rooms.subscribed(campaign.slug)
      const latest = await this.deps.history.latest(campaign.slug)
      if (!conn.open) return
      // Where the client stands (unless `since` says otherwise): `since` of an overflow resync.
      conn.lastId = latest
      conn.write(
        connectedFrame(
          conn,
          room,
          this.presence.count(campaign.slug),
          latest,
          this.deps.config.WS_MAX_PAYLOAD,
        ),
      )
      this.deps.metrics.framesSent.labels('connected').inc()
      await finishOpening(conn, grant.since, { ...this.deps, limits: this.limits })
      this.hub.rooms.get(campaign.slug)?.watch(conn)
      ws.resume()
    } catch (err) {
      this.deps.log.error({ err }, 'WebSocket open failed')
      this.close(conn, 1011, 'INTERNAL')
    }
  }

  /**
   * An `auth` refresh gave `conn` a token of another session of the same person: from now on the
   * socket counts toward that session's `WS_MAX_SOCKETS_PER_SESSION` here (the old session gets
   * its slot back, and the socket's close gives back the new one's), session audiences and that
   * session's logout reach it (`Hub.setSession`), and that session's guest sockets count as the
   * person in `active_users`. Returns the refusal, having changed nothing,
   * when that session already holds its limit here.
   */
  private setSession(conn: Connection, session_id: string): AppError | undefined {
    if (conn.session_id === session_id) return undefined
    const socket = this.tcp.get(conn)
    const refused = socket && this.admission.moveSession(socket, session_id)
    if (refused) return refused
    // Presence counts the socket as a socket opened with the new token would be: that session's
    // guest sockets here (it was a guest's session, who then logged in) fold into the person's
    // entry (`Presence.join` with the session's key). Joined again, then left: the socket itself
    // stays counted once. Not for a socket that closed meanwhile: it has left presence already.
    if (this.hub.setSession(conn, session_id)) {
      this.presence.join(conn.campaign, conn.presenceKey, conn.sessionKey)
      this.presence.leave(conn.campaign, conn.presenceKey)
    }
    return undefined
  }

  /** A published frame: serialised once, written to (or queued for) each local socket it names. */
  private deliver(message: StoredMessage) {
    const { audience, frame } = message
    if (!audience || !frame || typeof frame.type !== 'string') return
    let data: Buffer | undefined
    let sent = 0
    let dropped = 0
    const now = Date.now()
    // Only a campaign_event's id is a history id (`?since=`); other frames may carry their own.
    const id = frame.type === 'campaign_event' && typeof frame.id === 'number' ? frame.id : 0
    const delivery = deliveryOf(frame)
    for (const c of this.hub.targets(audience)) {
      data ??= encode(frame)
      if (c.sendEvent(data, this.limits, now, id, delivery)) sent++
      else dropped++
      // Queued or lost for a socket behind: it gets them as soon as it catches up, not on a tick.
      if (c.queue !== null || c.lostUpTo >= 0) this.hub.rooms.get(c.campaign)?.watch(c)
    }
    if (sent > 0) this.deps.metrics.framesSent.labels(frame.type).inc(sent)
    if (dropped > 0) this.deps.metrics.dropped.labels('queue_full').inc(dropped)
  }

  /**
   * Each room re-reads its campaign (through the campaign cache: one read per campaign per few
   * seconds): a change whose bus message this node missed (Redis reconnecting, or its database
   * unreachable when the message came) still reaches its sockets, within seconds rather than
   * never. A pass still running when the next is due is not doubled.
   */
  private async recheckCampaigns() {
    if (this.rechecking) return
    this.rechecking = true
    try {
      await eachLimited([...this.hub.rooms.keys()], RECHECK_CONCURRENCY, async (slug) => {
        try {
          const c = await this.deps.campaigns.find(slug)
          if (c) this.campaignChanged(c)
        } catch (err) {
          this.deps.log.debug({ err, campaign: slug }, 'campaign re-check failed')
        }
      })
    } finally {
      this.rechecking = false
    }
  }

  /**
   * The campaign changed (or was re-read): its room takes the new settings, and the sockets it no
   * longer takes are closed as their upgrade would now be refused (`campaignClosedTo`): every one
   * when it ended or was archived, those of everyone but editors and admins when it went back to
   * draft (a socket's roles are those of its latest token: an `auth` refresh may change them).
   */
  private campaignChanged(c: Campaign) {
    const room = this.rooms.configure(c)
    if (!room) return
    const now = new Date()
    // The common case, every few seconds per room: no socket to look at.
    const status = campaignStatus(c, now)
    if (status !== 'active' && status !== 'scheduled')
      this.endCampaign(room, (conn) => campaignClosedTo(c, conn, now))
    // An edit that moved the start (or published a draft) is told at once, not on the next sweep.
    this.announced(room.announce(now.getTime()))
  }

  /**
   * Every second: rooms whose campaign's schedule ended while they were open are closed as when an
   * editor ends it; the others' sockets are told when their campaign's start passed (`Room.announce`).
   */
  private followSchedules(now = Date.now()) {
    for (const room of this.hub.rooms.values()) {
      const end = room.settings.endsAt
      if (end === undefined || now < end) {
        this.announced(room.announce(now))
        continue
      }
      const err = new ConflictError(`Campaign ${room.campaign} is ended`, 'CAMPAIGN_NOT_ACTIVE', {
        status: 'ended',
      })
      this.endCampaign(room, () => err)
    }
  }

  private announced(sent: number) {
    if (sent > 0) this.deps.metrics.framesSent.labels('campaign_event').inc(sent)
  }

  /**
   * A logout or an erasure committed (on any node): the sockets it covers close at once, as the
   * 30 s re-check would close them (which still does when this message is lost). Those of its
   * sessions (a guest's too) and, for "log out everywhere" and erasure, every one of the person's.
   */
  private closeRevoked(message: unknown) {
    const ended = readCredentialsRevoked(message)
    if (!ended) return
    const covered = new Set<Connection>()
    for (const session_id of ended.session_ids)
      for (const c of this.hub.targets({ scope: 'session', session_id })) covered.add(c)
    if (ended.all)
      for (const c of this.hub.targets({ scope: 'user', user_id: ended.user_id }))
        if (c.kind === 'user') covered.add(c)
    const deps = {
      frames: this.frames,
      close: (c: Connection, code: number, reason: string) => this.close(c, code, reason),
    }
    // The code the authenticator refuses a revoked token with, so the re-check's close reason.
    for (const c of covered) if (c.kind !== 'apikey') closeRefused(deps, c, 'TOKEN_REVOKED')
  }

  /**
   * Each socket of the room that `refusal` names an error for is told (an `error` frame, as a
   * refused upgrade's code) and closed.
   */
  private endCampaign(room: Room, refusal: (conn: Connection) => AppError | undefined) {
    for (const conn of room.conns) {
      if (conn.closing) continue
      const err = refusal(conn)
      if (!err) continue
      // A socket still opening gets nothing before `connected`: its close reason names the code.
      if (conn.held === null && conn.ws.readyState === 1) {
        conn.write(errorFrame(err))
        this.deps.metrics.framesSent.labels('error').inc()
      }
      this.close(conn, 1000, 'CAMPAIGN_NOT_ACTIVE')
    }
  }

  close(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return
    conn.closing = true
    conn.closeCode = code
    // Still opening (its frames unread): read again, so the client's close reply gets through.
    if (conn.ws.isPaused) conn.ws.resume()
    conn.ws.close(code, reason)
    // A socket that does not answer the close handshake (paused, dead) is cut.
    setTimeout(() => conn.ws.terminate(), 2000).unref()
  }

  private async closed(conn: Connection, code: number) {
    const slug = conn.campaign
    this.hub.rooms.get(slug)?.removeCursor(conn.connection_id)
    const room = this.hub.remove(conn)
    if (room) this.rooms.retire(room)
    this.presence.leave(slug, conn.presenceKey)
    this.deps.metrics.connections.dec()
    this.deps.metrics.closes.labels(closeCodeLabel(conn.closeCode || code)).inc()
    try {
      await this.deps.inbound.closed(conn.info())
    } catch (err) {
      this.deps.log.warn({ err }, 'inbound close handler failed')
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
    await this.rooms.unsubscribeAll()
    this.wss.close()
  }
}
