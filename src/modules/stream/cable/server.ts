import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { ulid } from 'ulid'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import { APIKEY_REVOKED_CHANNEL } from '../../../platform/auth/apikeys.js'
import type { EventBus } from '../../../platform/bus/bus.js'
import { parseUntrustedJson } from '../../../platform/json.js'
import { handshakeRefused } from '../../../realtime/upgrade.js'
import { type AccountService, TOKENS_CUT_OFF_CHANNEL, type V1Principal } from '../account.service.js'
import { isCredentialRefusal } from '../v1.errors.js'
import { type CableAdmission, admitUpgrade, keyId, refuseUpgrade, UNCHECKED_MESSAGE } from './admit.js'
import type { Channel, CableConnection } from './channels.js'
import { CredentialCheck } from './credential.js'
import { InboundBucket } from './inbound.js'
import type { CableMetrics } from './metrics.js'
import * as wire from './protocol.js'
import { type Checked, RECHECK_MS, recheck } from './recheck.js'

interface Subscription {
  channel: Channel
  /** false until `subscribed` resolves; a repeated subscribe meanwhile is the same subscription. */
  confirmed: boolean
}

interface Live {
  conn: CableConnection
  socket: WebSocket
  subscriptions: Map<string, Subscription>
  /** What it connected with: checked again before each command, like every REST request. */
  credential: string
  /** The last check that answered yes, reused by commands for `credentialReuseMs`. */
  check: CredentialCheck
  /** Its inbound limit (`CABLE_COMMANDS_PER_SECOND`). */
  bucket: InboundBucket
  /** Its commands (and what else touches its subscriptions), run one at a time in order. */
  queue: Promise<void>
}

/**
 * Bytes a socket may have waiting to be written (`bufferedAmount`) before it is cut off as not
 * reading: `/ws`'s bound on a socket's queued events (realtime/connection.ts).
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024

/** How long `close()` waits for its sockets' subscriptions to end (a command under way first). */
const CLOSE_CLEANUP_MS = 5000

/** Inbound frames a second per socket when `commandsPerSecond` is not given (`CABLE_COMMANDS_PER_SECOND`). */
export const COMMANDS_PER_SECOND = 20

export interface CableServerDeps {
  accounts: Pick<AccountService, 'authenticate'>
  bus: EventBus
  channels: Record<string, Channel>
  isMaintenance: () => boolean
  log: FastifyBaseLogger
  /** Largest accepted frame (bytes). */
  maxPayload?: number
  /** Origins besides the server's own whose pages may connect with the login cookie (`CORS_ORIGINS`). */
  allowedOrigins?: readonly string[]
  /** How often open sockets' credentials are checked again (ms); `RECHECK_MS` by default. */
  recheckMs?: number
  /**
   * The `/ws` gateway's admission, whose per-address and per-session socket limits `/cable`
   * upgrades count against too. A getter, read per upgrade: `app.ts` builds the gateway after
   * this server. None (or undefined): `/cable` sockets are not limited. Its `refuse` answers (and
   * counts, in `ovasabi_ws_upgrades_refused_total`) `/cable`'s own refusals too.
   */
  admission?: () => CableAdmission | undefined
  /** Failed credential re-checks, and frames dropped over the rate, are counted here (none: only logged). */
  metrics?: CableMetrics
  /**
   * Frames a second each socket may send (`CABLE_COMMANDS_PER_SECOND`), refilling a bucket of
   * twice that; `COMMANDS_PER_SECOND` by default. Protocol-level pings do not count.
   */
  commandsPerSecond?: number
  /**
   * How long (ms) a credential check that answered yes serves the socket's later commands
   * (`CABLE_CREDENTIAL_REUSE_MS`); 0 (the default): every command checks again. See credential.ts.
   */
  credentialReuseMs?: number
}

/** The error frame a command gets when the credential could not be checked (the socket stays). */
const UNCHECKED = { action: 'error', code: 'SERVICE_UNAVAILABLE', message: UNCHECKED_MESSAGE } as const
const RATE_LIMITED_MESSAGE = 'Too many commands; this one was dropped: send it again after retry_after_ms'
/** Told on a subscription ended because the socket's role changed (before its `reject_subscription`). */
const ROLE_CHANGED = {
  action: 'error',
  code: 'FORBIDDEN',
  message: "Your account's role changed and no longer allows this subscription",
} as const

/**
 * The ActionCable protocol on `/cable` over raw `ws`: welcome, pings every 3 s, subscribe /
 * unsubscribe / message with identifiers echoed verbatim, confirm / reject, and broadcasts from
 * every node through the bus. Only `/cable` upgrades are touched; other paths belong to others.
 * They count against the `/ws` socket limits (`deps.admission`): one budget per client address, and
 * `WS_MAX_SOCKETS_PER_SESSION` per login token or API key. A socket's credential is checked again
 * before each command, on every node at once when its account's tokens are cut off (a bus
 * message), and every `RECHECK_MS` for all sockets, so one that only listens is closed too once
 * its token is revoked, cut off or expired, or its key revoked. Only such a refusal closes a
 * socket: a check that got no answer (the database down a moment) turns down that one command.
 * Each socket's frames are limited as `/ws`'s are (see `overRate`).
 * Upgrades refused before the handshake get a plain HTTP answer with the REST error body, as `/ws`'s.
 */
export function createCableServer(deps: CableServerDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxPayload ?? 64 * 1024,
    // Pings are answered by `answerPings`, one pong at a time: `ws`'s own answer cut a socket off
    // without a close frame (1006) once 60 of its pongs were pending, which a burst of pings reaches.
    autoPong: false,
    // The client closes at once unless the server picks its protocol.
    handleProtocols: (protocols) => (protocols.has(wire.SUBPROTOCOL) ? wire.SUBPROTOCOL : false),
  })
  // A handshake `ws` itself cannot take (checked once we admitted it: a method other than GET, a
  // malformed `Sec-WebSocket-Key`, a version other than 13 or 8, a protocol named twice) is
  // refused as our own refusals are, with the REST error body and counted, not `ws`'s plain text.
  wss.on('wsClientError', (err: Error, socket: Duplex) =>
    refuseUpgrade(socket, handshakeRefused(err.message), deps.admission?.()),
  )
  const live = new Set<Live>()
  let unsubscribe: (() => Promise<void>) | undefined
  let unsubscribeCutOffs: (() => Promise<void>) | undefined
  let unsubscribeKeyRevocations: (() => Promise<void>) | undefined
  let pinger: NodeJS.Timeout | undefined
  let rechecker: NodeJS.Timeout | undefined
  let rechecking = false
  /** True once `close()` began: upgrades are refused with 503 from then on. */
  let closing = false

  /** Told why (as Rails' reject_unauthorized_connection says it, no reconnecting), then closed. */
  function refuse(l: Live) {
    if (l.socket.readyState === l.socket.OPEN) l.socket.send(wire.disconnect('unauthorized', false))
    l.socket.close()
  }
  const checked = (l: Live): Checked => ({
    credential: l.credential,
    open: () => live.has(l) && l.socket.readyState === l.socket.OPEN,
    // A role found changed re-authorises the subscriptions after the commands already queued.
    keep: (principal) => {
      if (adopt(l, principal)) enqueue(l, () => reauthorise(l))
    },
    refuse: () => refuse(l),
  })
  // Counted as `/ws` counts its re-checks (realtime/sweep.ts), and logged once per pass: a
  // database outage would otherwise log a line per open socket every pass.
  async function recheckLive(targets: Live[]) {
    const { refused, unanswered, lastError } = await recheck(targets.map(checked), (c) =>
      deps.accounts.authenticate(c),
    )
    if (refused > 0) deps.metrics?.rechecksFailed.labels('refused').inc(refused)
    if (unanswered > 0) {
      deps.metrics?.rechecksFailed.labels('error').inc(unanswered)
      deps.log.warn(
        { err: lastError, unanswered, checked: targets.length },
        'cable credential re-check failed; those sockets stay open and are checked again on the next pass',
      )
    }
  }

  /** Runs `task` after the socket's queued commands (so never amid a subscribe). */
  function enqueue(l: Live, task: () => Promise<void>) {
    l.queue = l.queue.then(task).catch((err) => deps.log.warn({ err }, 'cable command failed'))
  }

  /** Takes a fresh check's principal; true when its role changed (subscriptions to re-authorise). */
  function adopt(l: Live, principal: V1Principal): boolean {
    const changed = principal.role !== l.conn.principal.role
    l.conn.principal = principal
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
  async function reauthorise(l: Live) {
    for (const [identifier, sub] of [...l.subscriptions]) {
      if (!sub.channel.allows || sub.channel.allows(l.conn.principal)) continue
      if (l.subscriptions.get(identifier) !== sub) continue
      l.subscriptions.delete(identifier)
      await sub.channel.unsubscribed(l.conn, identifier).catch((err) => {
        deps.log.warn({ err }, 'cable unsubscribe after a role change failed')
      })
      l.conn.transmit(identifier, ROLE_CHANGED)
      if (l.socket.readyState === l.socket.OPEN) l.socket.send(wire.reject(identifier))
    }
  }

  /**
   * A broadcast, message or ping for the socket, unless it stopped reading: once more than
   * `MAX_BUFFERED_BYTES` wait to be written (a frozen wall display, a dead link the OS has not
   * noticed), every later broadcast would pile up in this node's memory. It is cut off then
   * (counted as `behind`): no close frame could reach it, and the client reconnects once it reads
   * again. Answers to its own commands go out as they are: the inbound rate bounds those.
   */
  function push(l: Live, frame: string) {
    const socket = l.socket
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      deps.metrics?.disconnects.labels('behind').inc()
      socket.terminate()
      return
    }
    socket.send(frame)
  }

  /** Every subscription of a socket that went (or is going) away ends: its locks and presence go. */
  async function endSubscriptions(l: Live) {
    for (const [identifier, sub] of l.subscriptions)
      await sub.channel.unsubscribed(l.conn, identifier).catch(() => {})
    l.subscriptions.clear()
  }

  /**
   * Ends a subscription, at the client's request, when it exists (idempotent). Nothing is sent
   * back, as ActionCable sends nothing: the client forgot the subscription when it asked.
   */
  async function unsubscribeFrom(l: Live, identifier: string) {
    const sub = l.subscriptions.get(identifier)
    if (!sub) return
    l.subscriptions.delete(identifier)
    await sub.channel.unsubscribed(l.conn, identifier)
  }

  function deliver(b: wire.CableBroadcast) {
    for (const l of live) {
      if (b.connection_id && l.conn.id !== b.connection_id) continue
      for (const [identifier, sub] of l.subscriptions) {
        if (sub.confirmed && sub.channel.broadcastings.includes(b.broadcasting))
          l.conn.transmit(identifier, b.message)
      }
    }
  }

  async function command(l: Live, raw: string) {
    // Ended meanwhile (closed, or cut off for a flood): what it queued before is not run.
    if (l.socket.readyState !== l.socket.OPEN) return
    let cmd: wire.CableCommand
    try {
      cmd = parseUntrustedJson(raw) as wire.CableCommand
    } catch {
      return // ActionCable ignores frames it cannot read
    }
    if (!cmd || typeof cmd.identifier !== 'string') return
    const { identifier } = cmd
    if ((cmd.command === 'subscribe' || cmd.command === 'message') && !l.check.reusable(l.conn.principal)) {
      // An open socket does not outlive its login: a logout, a deleted account or an expired
      // token ends it, and a role change applies to this command (REST reads it per request) and
      // to the subscriptions already made (`reauthorise`). A check that answered yes a moment ago
      // serves (credential.ts): what revokes a credential or changes a role is announced, and the
      // announcement ends that reuse at once.
      try {
        if (adopt(l, await l.check.check())) await reauthorise(l)
      } catch (err) {
        if (isCredentialRefusal(err)) return refuse(l)
        // No answer about the credential (as the periodic re-check, see recheck.ts): this command
        // is turned down and the socket kept. A subscription already asked for (the client
        // re-sends until confirmed) is left to the answer it gets.
        deps.log.warn({ err }, 'cable credential check failed; command turned down')
        if (cmd.command === 'subscribe' && l.subscriptions.has(identifier)) return
        l.conn.transmit(identifier, UNCHECKED)
        if (cmd.command === 'subscribe') l.socket.send(wire.reject(identifier))
        return
      }
    }
    if (cmd.command === 'subscribe') {
      if (l.subscriptions.has(identifier)) return // the client re-sends until confirmed: one subscription
      let name: unknown
      try {
        name = (parseUntrustedJson(identifier) as { channel?: unknown } | null)?.channel
      } catch {
        name = undefined
      }
      const channel = typeof name === 'string' ? deps.channels[name] : undefined
      if (!channel) {
        l.socket.send(wire.reject(identifier))
        return
      }
      const sub: Subscription = { channel, confirmed: false }
      l.subscriptions.set(identifier, sub)
      const ok = await channel.subscribed(l.conn, identifier).catch((err) => {
        deps.log.warn({ err }, 'cable subscribe failed')
        return false
      })
      if (!ok) {
        l.subscriptions.delete(identifier)
        l.socket.send(wire.reject(identifier))
        return
      }
      sub.confirmed = true
      l.socket.send(wire.confirm(identifier))
      await channel.confirmed?.(l.conn, identifier).catch((err) => {
        deps.log.warn({ err }, 'cable subscription follow-up failed')
      })
    } else if (cmd.command === 'unsubscribe') {
      await unsubscribeFrom(l, identifier)
    } else if (cmd.command === 'message') {
      const sub = l.subscriptions.get(identifier)
      if (!sub?.confirmed || typeof cmd.data !== 'string') return
      let data: Record<string, unknown>
      try {
        data = parseUntrustedJson(cmd.data) as Record<string, unknown>
      } catch {
        return
      }
      if (!data || typeof data !== 'object' || typeof data.action !== 'string') return
      await sub.channel.perform(l.conn, identifier, data.action, data)
    }
  }

  function connected(socket: WebSocket, principal: V1Principal, credential: string) {
    const userId = principal.kind === 'account' ? String(principal.account_id) : keyId(credential)
    const conn: CableConnection = {
      id: ulid(),
      principal,
      userId,
      locks: new Set(),
      transmit: (identifier, payload) => push(l, wire.message(identifier, payload)),
    }
    const l: Live = {
      conn,
      socket,
      subscriptions: new Map(),
      credential,
      check: new CredentialCheck(deps.credentialReuseMs ?? 0, () => deps.accounts.authenticate(credential)),
      bucket: new InboundBucket(deps.commandsPerSecond ?? COMMANDS_PER_SECOND),
      // Commands of one connection run in order, like ActionCable's per-connection worker.
      queue: Promise.resolve(),
    }
    live.add(l)
    socket.on('message', (data, isBinary) => {
      if (socket.readyState !== socket.OPEN) return
      const now = Date.now()
      if (!l.bucket.admit(now)) return overRate(l, data, isBinary, now)
      if (isBinary) return
      enqueue(l, () => command(l, data.toString()))
    })
    socket.on('close', () => {
      live.delete(l)
      enqueue(l, () => endSubscriptions(l))
    })
    socket.on('error', () => {})
    answerPings(socket)
    socket.send(wire.welcome())
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
  function overRate(l: Live, data: RawData, isBinary: boolean, now: number) {
    const unsubscribing = isBinary ? undefined : unsubscribeOf(data)
    if (unsubscribing === undefined) deps.metrics?.commandsRefused.labels('rate_limited').inc()
    if (l.bucket.drop(now)) {
      deps.metrics?.disconnects.labels('rate_limited').inc()
      l.socket.send(wire.disconnect('rate_limited', true))
      l.socket.close(1008, 'RATE_LIMITED')
      return
    }
    if (unsubscribing !== undefined) return enqueue(l, () => unsubscribeFrom(l, unsubscribing))
    if (isBinary || !l.bucket.untold) return
    const identifier = tellable(data.toString())
    if (identifier === undefined) return
    l.bucket.told()
    l.conn.transmit(identifier, {
      action: 'error',
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retry_after_ms: l.bucket.untilAdmitted(),
    })
  }

  /**
   * Protocol-level pings (ActionCable's keep-alive is its own `ping` message; browsers send none)
   * are answered while no earlier pong of ours is still being written; the rest go unanswered, as
   * RFC 6455 §5.5.3 allows. A ping flood thus costs at most one pending pong, and no socket cut.
   */
  function answerPings(socket: WebSocket) {
    let pending = false
    socket.on('ping', (data) => {
      if (pending || socket.readyState !== socket.OPEN) return
      pending = true
      socket.pong(data, false, () => {
        pending = false
      })
    })
  }

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    const admitted = await admitUpgrade(request, socket, { ...deps, closing: () => closing })
    if (!admitted) return
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (!admitted.principal) {
        // What Rails does for reject_unauthorized_connection: say why, forbid reconnecting, close.
        ws.send(wire.disconnect('unauthorized', false))
        ws.close()
        return
      }
      connected(ws, admitted.principal, admitted.credential)
    })
  }

  return {
    attach(server: Server) {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = (request.url ?? '').split('?')[0]
        if (path !== wire.CABLE_PATH) return // another listener's path
        upgrade(request, socket, head).catch((err) => {
          deps.log.warn({ err }, 'cable upgrade failed')
          socket.destroy()
        })
      })
    },
    async start() {
      unsubscribe = await deps.bus.subscribe(wire.CABLE_CHANNEL, (m) => deliver(m as wire.CableBroadcast))
      pinger = setInterval(() => {
        const frame = wire.ping()
        for (const l of live) push(l, frame)
      }, wire.PING_INTERVAL_MS)
      pinger.unref()
      // A cut-off, logout or role change on any node: this node's sockets of that account are
      // checked now (a demotion re-authorises their subscriptions, see `reauthorise`).
      unsubscribeCutOffs = await deps.bus.subscribe(TOKENS_CUT_OFF_CHANNEL, (m) => {
        const id = (m as { account_id?: unknown } | null)?.account_id
        if (typeof id !== 'number') return
        const mine = [...live].filter((l) => l.conn.principal.account_id === id)
        for (const l of mine) l.check.forget()
        if (mine.length > 0) void recheckLive(mine)
      })
      // A revoked API key: this node's sockets on it are checked now, as for a cut-off. After the
      // message's other handlers ran: the key cache (apikeys.ts) forgets the key on this message,
      // and a check before it did would find the key there, still valid.
      unsubscribeKeyRevocations = await deps.bus.subscribe(APIKEY_REVOKED_CHANNEL, (m) => {
        const ids = (m as { ids?: unknown } | null)?.ids
        if (!Array.isArray(ids)) return
        const mine = [...live].filter(
          (l) => l.conn.principal.kind === 'apikey' && ids.includes(l.conn.principal.key_id),
        )
        for (const l of mine) l.check.forget()
        if (mine.length > 0) setImmediate(() => void recheckLive(mine))
      })
      // Every socket, periodically: a lost bus message, an expiry, a logout or a revoked key. A
      // pass still running when the next is due is not doubled: the next one is skipped.
      rechecker = setInterval(() => {
        if (rechecking || live.size === 0) return
        rechecking = true
        void recheckLive([...live]).finally(() => {
          rechecking = false
        })
      }, deps.recheckMs ?? RECHECK_MS)
      rechecker.unref()
    },
    /** Tell clients to come back (server restart), then close. */
    async close() {
      closing = true
      clearInterval(pinger)
      clearInterval(rechecker)
      await unsubscribe?.()
      await unsubscribeCutOffs?.()
      await unsubscribeKeyRevocations?.()
      // Each socket's subscriptions end now, not when its close handshake completes: by then the
      // store and the bus may be closed, and with Redis its cell locks would stay taken until
      // their TTL, and its users shown online on the other nodes for a minute and a half.
      const ending: Promise<void>[] = []
      for (const l of [...live]) {
        if (l.socket.readyState === l.socket.OPEN) l.socket.send(wire.disconnect('server_restart', true))
        l.socket.close(1001)
        live.delete(l)
        enqueue(l, () => endSubscriptions(l))
        ending.push(l.queue)
      }
      // Queued commands of a closing socket are skipped; only one under way is waited for, boundedly.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.all(ending),
        new Promise<void>((r) => {
          timer = setTimeout(r, CLOSE_CLEANUP_MS)
        }),
      ])
      clearTimeout(timer)
      wss.close()
    },
    connections: () => live.size,
  }
}
export type CableServer = ReturnType<typeof createCableServer>

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
