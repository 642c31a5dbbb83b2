import type { CampaignStatus } from '../modules/campaign/campaign.schema.js'
import type { Connection, SendLimits } from './connection.js'
import { CursorBoard, type CursorDelta } from './cursors.js'
import { encode } from './frames.js'
import type { StatsFigures } from './stats.js'
import { type Broadcast, broadcast } from './wire.js'

const COUNT_ONLY_MS = 1000
/**
 * How often a socket holding queued events (or owing a `resync_required`) is tried again between
 * ticks: at a low tick rate (0.1 Hz) a client that caught up would otherwise wait up to a tick
 * (10 s) for what the server already holds for it.
 */
const BACKLOG_MS = 25
/** Least time between two answers to other nodes' sync requests (a room's churn must not flood). */
const SYNC_EVERY_MS = 1000
/** At most this many cursors in a message to other nodes (the per-frame cap's maximum). */
const SHARE_MAX = 1000
/**
 * Clustered: how often a node sends all its cursors unasked, and how long another node's cursor
 * stays unless a batch of that node names it again. A `left` lost on the bus (a Redis blip) would
 * otherwise leave a ghost cursor on the other nodes for as long as their rooms live.
 */
const RESHARE_MS = 20_000
const REMOTE_TTL_MS = 3 * RESHARE_MS

export interface RoomDeps {
  limits: SendLimits
  /** Exact distinct users of the campaign (cluster-wide when shared). */
  activeUsers(campaign: string): number
  /** Clustered: hand this node's own cursor changes to the other nodes, once per tick. */
  shareLocal?(campaign: string, delta: CursorDelta, full?: boolean): void
  /** The campaign's `stats_update` figures, asked every tick (a `StatsFeed` throttles the reads). */
  stats?(campaign: string): StatsFigures | undefined
  /** Per tick: presence frames sent and coalesced, `stats_update`s and overflow `resync_required`s sent. */
  onSent(presence: number, coalesced: number, stats: number, resyncs: number): void
  onSlow(conn: Connection): void
}

/**
 * What a room's sockets are told of their campaign's status (`connected.status`, then a
 * `campaign.status` event when it changes): one of those that keep visitors' sockets open, and for
 * a `scheduled` one when it starts.
 */
export interface CampaignPhase {
  status: 'draft' | 'scheduled' | 'active'
  starts_at?: string
}

export interface RoomSettings {
  rate: number
  maxCursors: number
  presence: boolean
  /** When the campaign's schedule ends (ms since the epoch): its sockets are closed then. */
  endsAt?: number
  /** When it starts (ms since the epoch), if its schedule names a start it can read. */
  startsAt?: number
  /** The campaign's status at `now` (ms), as REST derives it; without it sockets are told none. */
  status?(now: number): CampaignStatus
  /** The campaign version these settings come from. */
  version?: number
}

/**
 * One campaign on one node: its sockets, its cursors, its tick. Each tick serialises one
 * `presence_update` and writes the same buffer to every socket that is keeping up; a socket that
 * fell behind skips frames (they coalesce) and gets one snapshot when it catches up. When the
 * campaign's figures changed, the same tick sends one `stats_update` the same way; a socket gets
 * the current one after it connects, and one that fell behind gets only the newest. A campaign
 * without the `presence` feature gets no `presence_update` at all. A socket's queued events and,
 * after events were lost to a full queue, its `resync_required` go out as soon as it can take them
 * (see `watch`), whatever the tick rate; the tick also tries each socket.
 */
export class Room {
  readonly conns = new Set<Connection>()
  readonly board = new CursorBoard()
  /** This node's own changes, shared with other nodes each tick (clustered only). */
  private readonly local: CursorBoard | undefined
  private timer: NodeJS.Timeout | undefined
  /** Sockets holding queued events or owing a resync, tried every `BACKLOG_MS` until they caught up. */
  private readonly backlog = new Set<Connection>()
  private backlogTimer: NodeJS.Timeout | undefined
  private tickNo = 0
  private lastActive = -1
  private lastCountAt = 0
  /** The figures and `active_users` the room's last `stats_update` to every socket carried. */
  private statsVersion = 0
  private statsActive = -1
  /** When a count change alone last sent one. */
  private statsCountAt = 0
  /** Another node asked for this node's cursors; answered on a tick, at most once a second. */
  private syncWanted = false
  private lastSyncAt = 0
  /** When this node last sent all its cursors, and last expired other nodes' (clustered only). */
  private lastFullAt = Date.now()
  private lastExpiryAt = 0
  /** The phase each socket was last told, once its `connected` went out (see `announce`). */
  private readonly told = new WeakMap<Connection, string>()
  settings: RoomSettings

  constructor(
    readonly campaign: string,
    settings: RoomSettings,
    private readonly deps: RoomDeps,
  ) {
    this.settings = settings
    this.local = deps.shareLocal ? new CursorBoard() : undefined
    this.schedule()
  }

  configure(settings: RoomSettings): void {
    const rateChanged = settings.rate !== this.settings.rate
    // Presence turned back on: nobody saw what changed meanwhile, so everyone starts from a snapshot.
    if (settings.presence && !this.settings.presence) for (const c of this.conns) c.needsSnapshot = true
    this.settings = settings
    if (rateChanged) this.schedule()
  }

  private schedule(): void {
    clearInterval(this.timer)
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(1000 / this.settings.rate)))
  }

  /**
   * `conn` may have queued events or owe a `resync_required` (an event was queued or dropped for
   * it): they go out once it can take them, within `BACKLOG_MS` rather than on the next tick.
   * One timer per room while any socket is behind: an idle socket costs nothing.
   */
  watch(conn: Connection): void {
    if (conn.queue === null && conn.lostUpTo < 0) return
    this.backlog.add(conn)
    this.backlogTimer ??= setTimeout(() => this.drainBacklog(), BACKLOG_MS)
  }

  /** The watched sockets that can take frames again get their queue, then their resync. */
  private drainBacklog(): void {
    this.backlogTimer = undefined
    const { limits } = this.deps
    let resyncs = 0
    for (const c of this.backlog) {
      // Closed, or still opening (the opening sends its own backlog, then watches it): not here.
      if (!c.open || c.held !== null || !this.conns.has(c)) {
        this.backlog.delete(c)
        continue
      }
      if (c.queue) c.flush(limits)
      if (c.lostUpTo >= 0 && c.resync(limits)) resyncs++
      if (c.queue === null && c.lostUpTo < 0) this.backlog.delete(c)
    }
    if (resyncs > 0) this.deps.onSent(0, 0, 0, resyncs)
    if (this.backlog.size > 0) this.backlogTimer = setTimeout(() => this.drainBacklog(), BACKLOG_MS)
  }

  move(conn: Connection, x: number, y: number): void {
    this.board.move(conn.connection_id, x, y)
    this.local?.move(conn.connection_id, x, y)
  }

  markIdle(conn: Connection): void {
    this.board.markIdle(conn.connection_id)
    this.local?.markIdle(conn.connection_id)
  }

  removeCursor(id: string): void {
    this.board.remove(id)
    this.local?.remove(id)
  }

  /**
   * Another node's batch: merged now, sent with this node's next tick. A full batch (the answer
   * to a sync, or a node's periodic re-send) repeats cursors this room may have already: those
   * that did not move are not sent to this room's sockets again. It is that node's cursors as they
   * stand: any other one of that node here is gone (its `left` was lost), unless the batch was
   * cut at `SHARE_MAX` and may not name them all.
   */
  merge(node: string, delta: CursorDelta, full = false, now = Date.now()): void {
    const named = full && delta.cursors.length < SHARE_MAX ? new Set<string>() : undefined
    for (const [id, x, y] of delta.cursors) {
      named?.add(id)
      const known = full ? this.board.get(id) : undefined
      if (known && known.x === x && known.y === y) this.board.touch(id, now)
      else this.board.move(id, x, y, node, now)
    }
    if (named) for (const id of this.board.idsOf(node)) if (!named.has(id)) this.board.remove(id)
    for (const id of delta.left) this.board.remove(id)
    for (const id of delta.idle) this.board.markIdle(id)
  }

  /** Another node started listening to this campaign: it gets this node's cursors as they stand. */
  requestSync(): void {
    if (this.local) this.syncWanted = true
  }

  tick(now = Date.now()): void {
    const { limits } = this.deps
    const cap = this.settings.maxCursors
    this.tickNo++
    if (this.local) this.shareWithNodes(this.local, cap, now)
    const active = this.deps.activeUsers(this.campaign)
    const presence = this.settings.presence
    let frame: Broadcast | undefined
    // A count-only change (a join or leave, no cursor moved) goes out at most once a second: a
    // wave of joins would otherwise broadcast to every socket on every tick.
    const countDue = active !== this.lastActive && now - this.lastCountAt >= COUNT_ONLY_MS
    // Presence off (the campaign's `features` lack it): no presence frame at all. What the board
    // still changes (cursors of sockets from before it was turned off leaving) is discarded.
    if (!presence) {
      if (this.board.hasChanges()) this.board.takeDelta(cap)
    } else if (this.board.hasChanges() || countDue) {
      this.lastCountAt = now
      const d = this.board.takeDelta(cap)
      this.lastActive = active
      frame = broadcast(
        Buffer.from(
          JSON.stringify({
            type: 'presence_update',
            active_users: active,
            cursors: d.cursors,
            left: d.left,
            idle: d.idle,
            tick: this.tickNo,
          }),
        ),
      )
    }
    let snapshot: Broadcast | undefined
    let sent = 0
    let coalesced = 0
    const figures = this.conns.size > 0 ? this.deps.stats?.(this.campaign) : undefined
    // `active_users` is one of the figures: a change of it alone sends the frame again, at most once
    // a second (as presence's count-only frames). Without the `presence` feature it is the only
    // live count a page gets; a frame for new counters carries the count of its tick anyway.
    const recount =
      figures !== undefined && active !== this.statsActive && now - this.statsCountAt >= COUNT_ONLY_MS
    if (recount) this.statsCountAt = now
    // A newcomer's first frame goes to it alone: only a frame to every socket counts as sent.
    if (figures && (recount || figures.version !== this.statsVersion)) {
      this.statsVersion = figures.version
      this.statsActive = active
    }
    let stats: Broadcast | undefined
    let statsSent = 0
    let resyncs = 0
    for (const c of this.conns) {
      // Still opening: `connected` (and any replay) goes first; its snapshot comes on the next tick.
      if (!c.open || c.held !== null) continue
      if (c.queue) c.flush(limits)
      // Events were lost to a full queue: the client is told once there is room (see `resync`).
      if (c.lostUpTo >= 0 && c.resync(limits)) resyncs++
      this.watch(c)
      if (!c.writable(limits)) {
        if (frame && !c.needsSnapshot) coalesced++
        if (frame) c.needsSnapshot = true
        if (c.behindSince === 0) c.behindSince = now
        else if (now - c.behindSince > limits.graceMs) this.deps.onSlow(c)
        continue
      }
      if (c.queue === null) c.behindSince = 0
      // Presence off: no frame, and its first snapshot waits until presence is turned on.
      if (presence && c.needsSnapshot) {
        snapshot ??= this.snapshotFrame(active, cap)
        c.writeBroadcast(snapshot)
        c.needsSnapshot = false
        sent++
      } else if (frame) {
        c.writeBroadcast(frame)
        sent++
      }
      if (figures && (recount || c.statsSeen !== figures.version)) {
        stats ??= this.statsFrame(figures, active, now)
        c.writeBroadcast(stats)
        c.statsSeen = figures.version
        statsSent++
      }
    }
    if (sent > 0 || coalesced > 0 || statsSent > 0 || resyncs > 0) {
      this.deps.onSent(sent, coalesced, statsSent, resyncs)
    }
  }

  /** The campaign's phase at `now`; undefined when it keeps no socket (ended, archived) or is not known. */
  phase(now = Date.now()): CampaignPhase | undefined {
    const status = this.settings.status?.(now)
    if (status !== 'draft' && status !== 'scheduled' && status !== 'active') return undefined
    const start = this.settings.startsAt
    if (status === 'scheduled' && start !== undefined)
      return { status, starts_at: new Date(start).toISOString() }
    return { status }
  }

  /** The phase `conn`'s `connected` frame carries: from then on it is what the socket knows. */
  phaseFor(conn: Connection, now = Date.now()): CampaignPhase | undefined {
    const p = this.phase(now)
    if (p) this.told.set(conn, phaseKey(p))
    return p
  }

  /**
   * The campaign's phase changed since a socket was last told (its start passed, an edit moved the
   * start or took it back to the waiting room, a draft was published): each socket that got its
   * `connected` is sent one `campaign_event` `campaign.status` `{status, starts_at?}`, once per
   * change, by the node that holds it (every node follows its own rooms, so none is told twice).
   * A socket still opening learns the phase from `connected`. Delivered as a reply is: never
   * dropped for a full queue (it is tiny and rare, and no `resync_required` would tell a page that
   * its forms opened). Returns how many were sent.
   */
  announce(now = Date.now()): number {
    const p = this.phase(now)
    if (!p || this.conns.size === 0) return 0
    const key = phaseKey(p)
    let frame: Buffer | undefined
    let sent = 0
    for (const c of this.conns) {
      const seen = this.told.get(c)
      if (seen === undefined || seen === key || !c.open) continue
      this.told.set(c, key)
      frame ??= encode({
        type: 'campaign_event',
        campaign_id: this.campaign,
        event: 'campaign.status',
        payload: p,
        timestamp: new Date(now).toISOString(),
      })
      if (c.sendEvent(frame, this.deps.limits, now, 0, 'reply')) sent++
      this.watch(c)
    }
    return sent
  }

  /**
   * Clustered: this tick's own changes, then (when asked, or every `RESHARE_MS`) every own cursor,
   * to the other nodes; and other nodes' cursors not named for `REMOTE_TTL_MS` leave.
   */
  private shareWithNodes(local: CursorBoard, cap: number, now: number): void {
    if (local.hasChanges()) this.deps.shareLocal!(this.campaign, local.takeDelta(cap))
    if (now - this.lastExpiryAt >= SYNC_EVERY_MS) {
      this.lastExpiryAt = now
      this.board.expire(now - REMOTE_TTL_MS)
    }
    if (now - this.lastFullAt >= RESHARE_MS) this.syncWanted = true
    if (!this.syncWanted || now - this.lastSyncAt < SYNC_EVERY_MS) return
    this.syncWanted = false
    this.lastSyncAt = now
    this.lastFullAt = now
    if (local.size > 0) {
      const { cursors, idle } = local.snapshot(SHARE_MAX)
      this.deps.shareLocal!(this.campaign, { cursors, left: [], idle }, true)
    }
  }

  /** Every cursor as it stands (those marked idle named in `idle`): for sockets that missed deltas. */
  private snapshotFrame(active: number, cap: number): Broadcast {
    const { cursors, idle } = this.board.snapshot(cap)
    return broadcast(
      Buffer.from(
        JSON.stringify({
          type: 'presence_update',
          active_users: active,
          cursors,
          left: [],
          idle,
          tick: this.tickNo,
          snapshot: true,
        }),
      ),
    )
  }

  private statsFrame(f: StatsFigures, active: number, now: number): Broadcast {
    return broadcast(
      Buffer.from(
        JSON.stringify({
          type: 'stats_update',
          campaign_id: this.campaign,
          active_users: active,
          ...f.figures,
          timestamp: new Date(now).toISOString(),
        }),
      ),
    )
  }

  /** The last local socket left: tell the other nodes before going quiet. */
  retire(): void {
    if (this.local?.hasChanges()) this.deps.shareLocal!(this.campaign, this.local.takeDelta(SHARE_MAX))
    this.stop()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    clearTimeout(this.backlogTimer)
    this.backlogTimer = undefined
    this.backlog.clear()
  }
}

const phaseKey = (p: CampaignPhase) => `${p.status} ${p.starts_at ?? ''}`
