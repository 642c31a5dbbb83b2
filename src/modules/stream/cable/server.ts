import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { type WebSocket, WebSocketServer } from 'ws'
import { APIKEY_REVOKED_CHANNEL } from '../../../platform/auth/apikeys.js'
import { CREDENTIALS_REVOKED_CHANNEL, readCredentialsRevoked } from '../../../platform/auth/revoked.js'
import type { EventBus } from '../../../platform/bus/bus.js'
import { handshakeRefused } from '../../../realtime/upgrade.js'
import { type AccountService, TOKENS_CUT_OFF_CHANNEL, type V1Principal } from '../account.service.js'
import { type CableAdmission, admitUpgrade, refuseUpgrade } from './admit.js'
import type { Channel } from './channels.js'
import { CableSocket } from './connection.js'
import type { CableMetrics } from './metrics.js'
import * as wire from './protocol.js'
import { type Checked, RECHECK_MS, recheck } from './recheck.js'

export { COMMANDS_PER_SECOND, MAX_BUFFERED_BYTES } from './connection.js'

/** How long `close()` waits for its sockets' subscriptions to end (a command under way first). */
const CLOSE_CLEANUP_MS = 5000

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
 * Each socket's frames are limited as `/ws`'s are (see `overRate`). One socket's own logic (its
 * subscriptions, commands and limit) is connection.ts's; this holds the set of them.
 * Upgrades refused before the handshake get a plain HTTP answer with the REST error body, as `/ws`'s.
 */
export function createCableServer(deps: CableServerDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxPayload ?? 64 * 1024,
    // Pings are answered by `answerPings` (connection.ts), one pong at a time: `ws`'s own answer cut a socket off
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
  const live = new Set<CableSocket>()
  let unsubscribe: (() => Promise<void>) | undefined
  let unsubscribeCutOffs: (() => Promise<void>) | undefined
  let unsubscribeKeyRevocations: (() => Promise<void>) | undefined
  let unsubscribePeopleRevocations: (() => Promise<void>) | undefined
  let pinger: NodeJS.Timeout | undefined
  let rechecker: NodeJS.Timeout | undefined
  let rechecking = false
  /** True once `close()` began: upgrades are refused with 503 from then on. */
  let closing = false

  const checked = (l: CableSocket): Checked => ({
    credential: l.credential,
    open: () => live.has(l) && l.open,
    // A role found changed re-authorises the subscriptions after the commands already queued.
    keep: (principal) => {
      if (l.adopt(principal)) l.enqueue(() => l.reauthorise())
    },
    refuse: () => l.refuse(),
  })
  // Counted as `/ws` counts its re-checks (realtime/sweep.ts), and logged once per pass: a
  // database outage would otherwise log a line per open socket every pass.
  async function recheckLive(targets: CableSocket[]) {
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

  function connected(socket: WebSocket, principal: V1Principal, credential: string) {
    const l = new CableSocket(socket, principal, credential, deps)
    live.add(l)
    l.start(() => live.delete(l))
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
      unsubscribe = await deps.bus.subscribe(wire.CABLE_CHANNEL, (m) => {
        for (const l of live) l.deliver(m as wire.CableBroadcast)
      })
      pinger = setInterval(() => {
        const frame = wire.ping()
        for (const l of live) l.push(frame)
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
      // A console person's logout, "log out everywhere", erasure or lowered role: their sockets
      // are checked now. After the message's other handlers ran, as for a key: the revocation
      // cache (user/revocations.ts) forgets the person on this message.
      unsubscribePeopleRevocations = await deps.bus.subscribe(CREDENTIALS_REVOKED_CHANNEL, (m) => {
        const ended = readCredentialsRevoked(m)
        if (!ended) return
        const mine = [...live].filter(
          (l) => l.conn.principal.kind === 'person' && l.conn.principal.person_id === ended.user_id,
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
      await unsubscribePeopleRevocations?.()
      // Each socket's subscriptions end now, not when its close handshake completes: by then the
      // store and the bus may be closed, and with Redis its cell locks would stay taken until
      // their TTL, and its users shown online on the other nodes for a minute and a half.
      const ending: Promise<void>[] = []
      for (const l of [...live]) {
        if (l.open) l.socket.send(wire.disconnect('server_restart', true))
        l.socket.close(1001)
        live.delete(l)
        ending.push(l.enqueue(() => l.endSubscriptions()))
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
