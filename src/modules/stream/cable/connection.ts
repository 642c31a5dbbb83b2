import type { FastifyBaseLogger } from 'fastify'
import { ulid } from 'ulid'
import type { RawData, WebSocket } from 'ws'
import { parseUntrustedJson } from '../../../platform/json.js'
import type { AccountService, V1Principal } from '../account.service.js'
import { isCredentialRefusal } from '../v1.errors.js'
import { keyId, UNCHECKED_MESSAGE } from './admit.js'
import type { CableConnection, Channel } from './channels.js'
import { CredentialCheck } from './credential.js'
import { InboundBucket } from './inbound.js'
import type { CableMetrics } from './metrics.js'
import * as wire from './protocol.js'

/**
 * Bytes a socket may have waiting to be written (`bufferedAmount`) before it is cut off as not
 * reading: `/ws`'s bound on a socket's queued events (realtime/connection.ts).
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024

/** Inbound frames a second per socket when `commandsPerSecond` is not given (`CABLE_COMMANDS_PER_SECOND`). */
export const COMMANDS_PER_SECOND = 20

/**
 * Subscriptions one socket may hold at a time. ActionCable sets none, but each is kept, and every
 * broadcast is sent once per subscription: with no bound one account could make a node hold and
 * send without end. A wall or a spreadsheet page needs a handful.
 */
export const MAX_SUBSCRIPTIONS = 100
/** The longest identifier subscribed to: real ones (`{"channel":…,"stream_id":…}`) are far shorter. */
export const MAX_IDENTIFIER_LENGTH = 1024

/** The error frame a command gets when the credential could not be checked (the socket stays). */
const UNCHECKED = { action: 'error', code: 'SERVICE_UNAVAILABLE', message: UNCHECKED_MESSAGE } as const
const RATE_LIMITED_MESSAGE = 'Too many commands; this one was dropped: send it again after retry_after_ms'
/** Told on a subscribe past `MAX_SUBSCRIPTIONS` (before its `reject_subscription`). */
const TOO_MANY_SUBSCRIPTIONS = {
  action: 'error',
  code: 'TOO_MANY_SUBSCRIPTIONS',
  message: `This connection already holds ${MAX_SUBSCRIPTIONS} subscriptions; unsubscribe one first`,
} as const
/** Told on a subscription ended because the socket's role changed (before its `reject_subscription`). */
const ROLE_CHANGED = {
  action: 'error',
  code: 'FORBIDDEN',
  message: "Your account's role changed and no longer allows this subscription",
} as const

interface Subscription {
  channel: Channel
  /** false until `subscribed` resolves; a repeated subscribe meanwhile is the same subscription. */
  confirmed: boolean
}

/** What one socket needs from its server (server.ts's `CableServerDeps`, in part). */
export interface CableSocketDeps {
  accounts: Pick<AccountService, 'authenticate'>
  channels: Record<string, Channel>
  log: FastifyBaseLogger
  metrics?: CableMetrics
  commandsPerSecond?: number
  credentialReuseMs?: number
}

/**
 * One open `/cable` socket, once admitted: its subscriptions, its commands (subscribe /
 * unsubscribe / message, run one at a time in order, like ActionCable's per-connection worker),
 * its inbound limit, and what it is sent. The server (server.ts) holds the set of them, and
 * decides when they are checked again, broadcast to or closed.
 */
export class CableSocket {
  readonly conn: CableConnection
  private readonly subscriptions = new Map<string, Subscription>()
  /** The last check that answered yes, reused by commands for `credentialReuseMs`. */
  readonly check: CredentialCheck
  /** Its inbound limit (`CABLE_COMMANDS_PER_SECOND`). */
  private readonly bucket: InboundBucket
  /** Its commands (and what else touches its subscriptions), run one at a time in order. */
  private queue: Promise<void> = Promise.resolve()

  constructor(
    readonly socket: WebSocket,
    principal: V1Principal,
    /** What it connected with: checked again before each command, like every REST request. */
    readonly credential: string,
    private readonly deps: CableSocketDeps,
  ) {
    const userId =
      principal.kind === 'account'
        ? String(principal.account_id)
        : principal.kind === 'person'
          ? `person:${principal.person_id}`
          : keyId(credential)
    this.conn = {
      id: ulid(),
      principal,
      userId,
      transmit: (identifier, payload) => this.push(wire.message(identifier, payload)),
    }
    this.check = new CredentialCheck(deps.credentialReuseMs ?? 0, () =>
      deps.accounts.authenticate(credential),
    )
    this.bucket = new InboundBucket(deps.commandsPerSecond ?? COMMANDS_PER_SECOND)
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN
  }

  /** Starts reading its frames and greets it; `onClose` runs when it goes away. */
  start(onClose: () => void): void {
    const { socket } = this
    socket.on('message', (data, isBinary) => {
      if (!this.open) return
      const now = Date.now()
      if (!this.bucket.admit(now)) return this.overRate(data, isBinary, now)
      if (isBinary) return
      this.enqueue(() => this.command(data.toString()))
    })
    socket.on('close', () => {
      onClose()
      this.enqueue(() => this.endSubscriptions())
    })
    socket.on('error', () => {})
    answerPings(socket)
    socket.send(wire.welcome())
  }

  /** Runs `task` after the socket's queued commands (so never amid a subscribe). */
  enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch((err) => this.deps.log.warn({ err }, 'cable command failed'))
    return this.queue
  }

  /** Told why (as Rails' reject_unauthorized_connection says it, no reconnecting), then closed. */
  refuse(): void {
    if (this.open) this.socket.send(wire.disconnect('unauthorized', false))
    this.socket.close()
  }

  /** Takes a fresh check's principal; true when its role changed (subscriptions to re-authorise). */
  adopt(principal: V1Principal): boolean {
    const changed = principal.role !== this.conn.principal.role
    this.conn.principal = principal
    return changed
  }

  /**
   * After a role change (announced on the bus, or seen by a command's or the periodic check): each
   * subscription the new role could not have made ends as if unsubscribed (an editor's cell locks
   * and presence go), and the client is told on its identifier, then `reject_subscription`, which
   * `@rails/actioncable` takes for a confirmed subscription too: it forgets it and calls
   * `rejected`. The socket and its other subscriptions stay: a stream wall keeps `StreamsChannel`
   * without missing a broadcast to a reconnect. A promotion needs nothing: the client subscribes.
   */
  async reauthorise(): Promise<void> {
    for (const [identifier, sub] of [...this.subscriptions]) {
      if (!sub.channel.allows || sub.channel.allows(this.conn.principal)) continue
      if (this.subscriptions.get(identifier) !== sub) continue
      this.subscriptions.delete(identifier)
      await sub.channel.unsubscribed(this.conn, identifier).catch((err) => {
        this.deps.log.warn({ err }, 'cable unsubscribe after a role change failed')
      })
      this.conn.transmit(identifier, ROLE_CHANGED)
      if (this.open) this.socket.send(wire.reject(identifier))
    }
  }

  /**
   * A broadcast, message or ping for the socket, unless it stopped reading: once more than
   * `MAX_BUFFERED_BYTES` wait to be written (a frozen wall display, a dead link the OS has not
   * noticed), every later broadcast would pile up in this node's memory. It is cut off then
   * (counted as `behind`): no close frame could reach it, and the client reconnects once it reads
   * again. Answers to its own commands go out as they are: the inbound rate bounds those.
   */
  push(frame: string): void {
    const { socket } = this
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.deps.metrics?.disconnects.labels('behind').inc()
      socket.terminate()
      return
    }
    socket.send(frame)
  }

  /** A broadcast from the bus, on each confirmed subscription whose channel carries it. */
  deliver(b: wire.CableBroadcast): void {
    if (b.connection_id && this.conn.id !== b.connection_id) return
    for (const [identifier, sub] of this.subscriptions) {
      if (sub.confirmed && sub.channel.broadcastings.includes(b.broadcasting))
        this.conn.transmit(identifier, b.message)
    }
  }

  /** Every subscription of a socket that went (or is going) away ends: its locks and presence go. */
  async endSubscriptions(): Promise<void> {
    for (const [identifier, sub] of this.subscriptions)
      await sub.channel.unsubscribed(this.conn, identifier).catch(() => {})
    this.subscriptions.clear()
  }

  /**
   * Ends a subscription, at the client's request, when it exists (idempotent). Nothing is sent
   * back, as ActionCable sends nothing: the client forgot the subscription when it asked.
   */
  private async unsubscribeFrom(identifier: string): Promise<void> {
    const sub = this.subscriptions.get(identifier)
    if (!sub) return
    this.subscriptions.delete(identifier)
    await sub.channel.unsubscribed(this.conn, identifier)
  }

  private async command(raw: string): Promise<void> {
    // Ended meanwhile (closed, or cut off for a flood): what it queued before is not run.
    if (!this.open) return
    let cmd: wire.CableCommand
    try {
      cmd = parseUntrustedJson(raw) as wire.CableCommand
    } catch {
      return // ActionCable ignores frames it cannot read
    }
    if (!cmd || typeof cmd.identifier !== 'string') return
    const { identifier } = cmd
    if ((cmd.command === 'subscribe' || cmd.command === 'message') && !(await this.checked(cmd))) return
    if (cmd.command === 'subscribe') await this.subscribe(identifier)
    else if (cmd.command === 'unsubscribe') await this.unsubscribeFrom(identifier)
    else if (cmd.command === 'message') await this.perform(identifier, cmd.data)
  }

  /**
   * Whether a command may go on. An open socket does not outlive its login: a logout, a deleted
   * account or an expired token ends it, and a role change applies to this command (REST reads it
   * per request) and to the subscriptions already made (`reauthorise`). A check that answered yes
   * a moment ago serves (credential.ts): what revokes a credential or changes a role is
   * announced, and the announcement ends that reuse at once.
   */
  private async checked(cmd: wire.CableCommand): Promise<boolean> {
    if (this.check.reusable(this.conn.principal)) return true
    const { identifier } = cmd
    try {
      if (this.adopt(await this.check.check())) await this.reauthorise()
      return true
    } catch (err) {
      if (isCredentialRefusal(err)) {
        this.refuse()
        return false
      }
      // No answer about the credential (as the periodic re-check, see recheck.ts): this command
      // is turned down and the socket kept. A subscription already asked for (the client
      // re-sends until confirmed) is left to the answer it gets.
      this.deps.log.warn({ err }, 'cable credential check failed; command turned down')
      if (cmd.command === 'subscribe' && this.subscriptions.has(identifier)) return false
      this.conn.transmit(identifier, UNCHECKED)
      if (cmd.command === 'subscribe') this.socket.send(wire.reject(identifier))
      return false
    }
  }

  private async subscribe(identifier: string): Promise<void> {
    if (this.subscriptions.has(identifier)) return // the client re-sends until confirmed: one subscription
    if (identifier.length > MAX_IDENTIFIER_LENGTH) {
      this.socket.send(wire.reject(identifier))
      return
    }
    // Rejected, not dropped: `@rails/actioncable` would re-send an unanswered one forever.
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      this.conn.transmit(identifier, TOO_MANY_SUBSCRIPTIONS)
      this.socket.send(wire.reject(identifier))
      return
    }
    let name: unknown
    try {
      name = (parseUntrustedJson(identifier) as { channel?: unknown } | null)?.channel
    } catch {
      name = undefined
    }
    const channel = typeof name === 'string' ? this.deps.channels[name] : undefined
    if (!channel) {
      this.socket.send(wire.reject(identifier))
      return
    }
    const sub: Subscription = { channel, confirmed: false }
    this.subscriptions.set(identifier, sub)
    const ok = await channel.subscribed(this.conn, identifier).catch((err) => {
      this.deps.log.warn({ err }, 'cable subscribe failed')
      return false
    })
    if (!ok) {
      this.subscriptions.delete(identifier)
      this.socket.send(wire.reject(identifier))
      return
    }
    sub.confirmed = true
    this.socket.send(wire.confirm(identifier))
    await channel.confirmed?.(this.conn, identifier).catch((err) => {
      this.deps.log.warn({ err }, 'cable subscription follow-up failed')
    })
  }

  private async perform(identifier: string, raw: unknown): Promise<void> {
    const sub = this.subscriptions.get(identifier)
    if (!sub?.confirmed || typeof raw !== 'string') return
    let data: Record<string, unknown>
    try {
      data = parseUntrustedJson(raw) as Record<string, unknown>
    } catch {
      return
    }
    if (!data || typeof data !== 'object' || typeof data.action !== 'string') return
    await sub.channel.perform(this.conn, identifier, data.action, data)
  }

  /**
   * A frame over the socket's bucket is dropped unread, as on `/ws`, but for an `unsubscribe`:
   * that one is honoured all the same (in order, after the commands queued before it), since
   * `@rails/actioncable` forgets a subscription when it sends it and never sends it again: dropped,
   * the subscription would live on (broadcasts, presence, cell locks) with no client for it. It
   * is cheap and idempotent, and still counts towards the flood (below), so a flood of them ends
   * the socket as any other; the close then ends every subscription, which the client believed
   * gone anyway, and it re-subscribes what it keeps when it reconnects. The first of each 10 s window
   * that is a `subscribe` or `message` is told, on its identifier, with the error message commands
   * get (`{action:"error", code:"RATE_LIMITED", message, retry_after_ms}`); a subscribe is not
   * rejected, since `@rails/actioncable` re-sends an unconfirmed one every 500 ms until it is
   * confirmed, while a rejected one is given up. Past 3× the rate of drops in a window the socket
   * is told `disconnect {reason:"rate_limited", reconnect:true}` (the client comes back after its
   * reconnect delay) and closed with 1008.
   */
  private overRate(data: RawData, isBinary: boolean, now: number): void {
    const { metrics } = this.deps
    const unsubscribing = isBinary ? undefined : unsubscribeOf(data)
    if (unsubscribing === undefined) metrics?.commandsRefused.labels('rate_limited').inc()
    if (this.bucket.drop(now)) {
      metrics?.disconnects.labels('rate_limited').inc()
      this.socket.send(wire.disconnect('rate_limited', true))
      this.socket.close(1008, 'RATE_LIMITED')
      return
    }
    if (unsubscribing !== undefined) {
      this.enqueue(() => this.unsubscribeFrom(unsubscribing))
      return
    }
    if (isBinary || !this.bucket.untold) return
    const identifier = tellable(data.toString())
    if (identifier === undefined) return
    this.bucket.told()
    this.conn.transmit(identifier, {
      action: 'error',
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retry_after_ms: this.bucket.untilAdmitted(),
    })
  }
}

/**
 * Protocol-level pings (ActionCable's keep-alive is its own `ping` message; browsers send none)
 * are answered while no earlier pong of ours is still being written; the rest go unanswered, as
 * RFC 6455 §5.5.3 allows. A ping flood thus costs at most one pending pong, and no socket cut.
 */
function answerPings(socket: WebSocket): void {
  let pending = false
  socket.on('ping', (data) => {
    if (pending || socket.readyState !== socket.OPEN) return
    pending = true
    socket.pong(data, false, () => {
      pending = false
    })
  })
}

/**
 * The identifier of an `unsubscribe` command. Read only when the frame names the command at all
 * (a scan, no parse), so what is not one costs what a dropped frame did.
 */
function unsubscribeOf(data: RawData): string | undefined {
  const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
  if (!raw.includes('"unsubscribe"')) return undefined
  let cmd: Partial<wire.CableCommand> | null
  try {
    cmd = parseUntrustedJson(raw.toString()) as Partial<wire.CableCommand> | null
  } catch {
    return undefined
  }
  if (cmd?.command !== 'unsubscribe') return undefined
  return typeof cmd.identifier === 'string' ? cmd.identifier : undefined
}

/** The identifier of a `subscribe` or `message` command, which an answer can be sent on. */
function tellable(raw: string): string | undefined {
  let cmd: Partial<wire.CableCommand> | null
  try {
    cmd = parseUntrustedJson(raw) as Partial<wire.CableCommand> | null
  } catch {
    return undefined
  }
  if (!cmd || (cmd.command !== 'subscribe' && cmd.command !== 'message')) return undefined
  return typeof cmd.identifier === 'string' ? cmd.identifier : undefined
}
