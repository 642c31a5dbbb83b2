import type { WebSocket } from 'ws'
import type { Principal, Role } from '../platform/auth/principal.js'
import { keptUserAgent } from '../platform/http/user-agent.js'
import { burstOf, msUntilToken, type TokenBucket, takeToken } from '../platform/token-bucket.js'
import { encode } from './frames.js'
import type { SocketInfo } from './inbound.js'
import type { OutboundFrame } from './publish.js'
import { type Broadcast, writeBroadcast } from './wire.js'

/** Limits of one socket's outgoing side. */
export interface SendLimits {
  /** Above this many buffered bytes the socket is "behind": presence waits, events queue. */
  softBytes: number
  /**
   * Queued event bytes beyond which events are dropped; unless superseded (presence, stats), the
   * client is then told with `resync_required` (see `Connection.resync`).
   */
  queueBytes: number
  /** How long a socket may stay behind (or overflowing) before it is closed with 1013. */
  graceMs: number
}

/** The per-socket outgoing limits: ~64 KB in flight before presence coalesces, 1 MB of queued events. */
export function sendLimits(graceMs: number): SendLimits {
  return { softBytes: 64 * 1024, queueBytes: 1024 * 1024, graceMs }
}

/**
 * Live events held while a socket opens, with their history ids (0: none) to skip replayed ones
 * and how each is delivered once the socket opens.
 */
export interface Held {
  frames: Buffer[]
  ids: number[]
  kinds: Delivery[]
  bytes: number
}

const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const
/** `resync_required` with both ids at their largest (`Number.MAX_SAFE_INTEGER`) is 80 bytes. */
const RESYNC_MAX_BYTES = 96

/**
 * Frames a later one replaces by design (presence and stats snapshots, a stream's viewer count):
 * one lost to a full queue costs the client nothing, so it needs no `resync_required`.
 */
export function isSuperseded(frame: OutboundFrame): boolean {
  const t = frame.type
  return t === 'presence_update' || t === 'stats_update' || (t === 'stream_event' && frame.kind === 'viewers')
}

/**
 * How a frame fares when the socket's send queue is full (see `Connection.sendEvent`):
 * - `event`: dropped, and the client is told with `resync_required`;
 * - `superseded`: dropped silently, a later one replaces it (`isSuperseded`);
 * - `reply`: never dropped. An `update_ack` answers the client's own request: dropped, the client
 *   would wait for it until it gives up (the SDK's `TIMEOUT`) though the server handled it, and no
 *   `resync_required` can stand in for it (it names lost events, not answers). Replies are
 *   small next to the bound and come no faster than the user's own actions (rate-limited), and a
 *   socket that stays behind is closed after `graceMs` anyway: letting them past the bound
 *   cannot grow a queue for long.
 */
export type Delivery = 'event' | 'superseded' | 'reply'

export function deliveryOf(frame: OutboundFrame): Delivery {
  if (frame.type === 'update_ack') return 'reply'
  return isSuperseded(frame) ? 'superseded' : 'event'
}

/**
 * One socket and what the gateway knows about it. Kept to plain fields (no timers, no closures
 * per socket) so an idle connection costs little beyond the `ws` object itself.
 */
export class Connection implements SocketInfo, TokenBucket {
  /** Public id: the cursor id other clients see, unique across nodes. */
  readonly connection_id: string
  /** This node's sequence number of the socket (spreads heartbeats over the period). */
  readonly seq: number
  readonly campaign: string
  readonly user_id: string
  readonly kind: Principal['kind']
  session_id: string
  roles: Role[]
  /** Presence key: a user counts once across tabs; a guest session counts as one user. */
  readonly presenceKey: string
  token: string
  /** Token expiry in ms since the epoch (0: none, e.g. an API key). */
  expiresAt: number
  /** In-band `auth` frames read so far: each is numbered in the order the client sent it. */
  authSent = 0
  /**
   * The number of the `auth` frame whose token the socket uses (0: the upgrade's). Checks run
   * concurrently: one that finishes after a later frame's was applied is not applied over it.
   */
  authApplied = 0
  ip: string
  /**
   * The upgrade request's User-Agent, for a join sent over the socket (its sign-in row names the
   * browser). Cut as the sign-in row cuts it, so a socket holds no more of it than is stored.
   */
  readonly userAgent: string | undefined

  /** Presence: the next tick sends a full snapshot instead of a delta. */
  needsSnapshot = true
  /** The `stats_update` figures version this socket last got (0: none yet; see stats.ts). */
  statsSeen = 0
  /** When the socket went over its limits (0: it is not). */
  behindSince = 0
  queue: Buffer[] | null = null
  queuedBytes = 0
  /** The newest `campaign_event` id written or queued for this socket: `since` of an overflow resync. */
  lastId = 0
  /**
   * An overflow episode: -1 while nothing was lost, else the newest `campaign_event` id lost (at
   * least `lastId`; an event without an id counts as lost at `lastId`). Until the episode's
   * `resync_required` is queued every event for the socket is dropped, so none arrives past a gap.
   */
  lostUpTo = -1
  /**
   * A socket starts opening: until `connected` and any replay went out, live events wait here,
   * bounded like the queue, and nothing else is written; null once it is open.
   */
  held: Held | null = { frames: [], ids: [], kinds: [], bytes: 0 }

  lastInput: number
  idle = false
  alive = true
  /** The inbound bucket's rate (`WS_MESSAGES_PER_SECOND`): told to the client in `connected`. */
  readonly messagesPerSecond: number
  tokens: number
  lastRefill: number
  floodWindow = 0
  floodDrops = 0
  closing = false
  /** The code this side closed with (metrics), 0 while open. */
  closeCode = 0

  constructor(
    readonly ws: WebSocket,
    init: {
      id: string
      seq: number
      campaign: string
      user_id: string
      session_id: string
      roles: Role[]
      kind: Principal['kind']
      token: string
      expiresAt: number
      ip: string
      userAgent?: string
      messagesPerSecond: number
    },
  ) {
    this.connection_id = init.id
    this.seq = init.seq
    this.campaign = init.campaign
    this.user_id = init.user_id
    this.kind = init.kind
    this.session_id = init.session_id
    this.roles = init.roles
    this.presenceKey = init.user_id === 'guest' ? `s:${init.session_id}` : `u:${init.user_id}`
    this.token = init.token
    this.expiresAt = init.expiresAt
    this.ip = init.ip
    this.userAgent = keptUserAgent(init.userAgent)
    this.messagesPerSecond = init.messagesPerSecond
    this.tokens = this.burst
    this.lastRefill = Date.now()
    this.lastInput = this.lastRefill
  }

  /**
   * A registered user's guest-session key (a guest who joined, or logged in, keeps the session):
   * counted as them. That of the session the socket is in now: an `auth` refresh may move it.
   */
  get sessionKey(): string | undefined {
    return this.kind === 'user' && this.user_id !== 'guest' ? `s:${this.session_id}` : undefined
  }

  get open(): boolean {
    return this.ws.readyState === 1 && !this.closing
  }

  /** True when the socket can take another frame now. */
  writable(limits: SendLimits): boolean {
    return this.ws.bufferedAmount < limits.softBytes
  }

  write(data: Buffer): void {
    this.ws.send(data, SEND_OPTIONS)
  }

  /** The same frame as many other sockets get this tick, framed once (see `wire.ts`). */
  writeBroadcast(b: Broadcast): void {
    writeBroadcast(this.ws, b)
  }

  /**
   * An event frame: written now when the socket keeps up, else queued (bounded); held while the
   * socket opens (bounded the same way). Returns false when it had to be dropped: the socket is
   * then behind, and closed with 1013 if it stays behind (see `Room.tick`). A dropped `event`
   * starts (or extends) an overflow episode, ended by `resync`; a `superseded` one is dropped
   * silently.
   *
   * A `reply` is never dropped: past the bound, and during an episode, it is queued all the same.
   * It keeps its place behind what is already queued instead of being written ahead of it (as
   * `pong`, `error` and the refusals of actions that committed nothing are: nothing queued can
   * stem from those). Ordering matters for an ack: a client acts on it (reloads what it shows
   * over REST, sends its next action) taking every frame published before it as received; an ack
   * that overtook up to `queueBytes` of older events would have those applied on top of the
   * reloaded state, some twice. It may arrive before the episode's `resync_required`: it is no
   * campaign event, so it arrives past no gap, and the client hears of the gap right after.
   */
  sendEvent(data: Buffer, limits: SendLimits, now: number, id = 0, delivery: Delivery = 'event'): boolean {
    if (!this.open) return false
    const held = this.held
    if (!held && this.queue === null && this.lostUpTo < 0 && this.writable(limits)) {
      this.write(data)
      if (id > this.lastId) this.lastId = id
      return true
    }
    if (this.lostUpTo >= 0 || (held ? held.bytes : this.queuedBytes) + data.length > limits.queueBytes) {
      if (this.behindSince === 0) this.behindSince = now
      if (delivery !== 'reply') {
        if (delivery === 'event') this.lose(id)
        return false
      }
    }
    if (held) {
      held.frames.push(data)
      held.ids.push(id)
      held.kinds.push(delivery)
      held.bytes += data.length
    } else {
      this.queue ??= []
      this.queue.push(data)
      this.queuedBytes += data.length
      if (id > this.lastId) this.lastId = id
    }
    return true
  }

  /** An event the client cannot get back otherwise was dropped: it must hear of it. */
  lose(id: number): void {
    this.lostUpTo = Math.max(this.lostUpTo, id, this.lastId)
  }

  /**
   * Ends an overflow episode as soon as the socket can take a frame again: `resync_required`
   * (`since`: the last event id it got; `latest_id`: the newest one it lost) is written, or queued
   * behind what it already got. Events after `latest_id` then go out as before. False while there
   * is no room yet (or no episode, or the socket still opens: its queue starts after `connected`).
   */
  resync(limits: SendLimits): boolean {
    if (this.lostUpTo < 0 || this.held !== null || !this.open) return false
    const direct = this.queue === null && this.writable(limits)
    // Checked before encoding: a socket that stays full costs no frame per tick.
    if (!direct && this.queuedBytes + RESYNC_MAX_BYTES > limits.queueBytes) return false
    const latest = this.lostUpTo
    const data = encode({ type: 'resync_required', since: this.lastId, latest_id: latest })
    if (direct) this.write(data)
    else {
      this.queue ??= []
      this.queue.push(data)
      this.queuedBytes += data.length
    }
    this.lastId = latest
    this.lostUpTo = -1
    return true
  }

  /** Write queued events while the socket keeps up; returns how many went out. */
  flush(limits: SendLimits): number {
    const q = this.queue
    if (!q) return 0
    let n = 0
    while (n < q.length && this.writable(limits)) this.write(q[n++]!)
    if (n === q.length) {
      this.queue = null
      this.queuedBytes = 0
    } else {
      for (let i = 0; i < n; i++) this.queuedBytes -= q[i]!.length
      q.splice(0, n)
    }
    return n
  }

  /** The inbound bucket's capacity: two seconds' worth of frames. */
  get burst(): number {
    return burstOf(this.messagesPerSecond)
  }

  /** Token bucket on inbound frames (platform/token-bucket.ts); false means drop this one. */
  admit(now: number): boolean {
    return takeToken(this, this.messagesPerSecond, now)
  }

  /** Milliseconds until the inbound bucket holds a token again (as of its last `admit`). */
  untilAdmitted(): number {
    return msUntilToken(this, this.messagesPerSecond)
  }

  info(): SocketInfo {
    return {
      connection_id: this.connection_id,
      campaign: this.campaign,
      user_id: this.user_id,
      session_id: this.session_id,
      roles: [...this.roles],
    }
  }
}
