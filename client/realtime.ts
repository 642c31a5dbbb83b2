import { claimsOf } from './claims.js'
import { OvasabiError } from './errors.js'
import type { FrameMap, ServerFrame, UpdateAckFrame } from './frames.js'
import { deadline, invalidPayload, probeUpgrade } from './http.js'
import { inProgressWait } from './in-progress.js'
import { type PacedDispatch, PacedSender } from './paced-sender.js'
import type { RealtimeErrorHandler } from './types.js'
import { ulid } from './ulid.js'
import { backoffDelay, isRestartClose, restartDelay } from './backoff.js'
import type {
  ConnectionState,
  DispatchOptions,
  RealtimeOptions,
  StateChange,
  WebSocketCtor,
  WebSocketLike,
} from './realtime-options.js'

/** A dispatch waiting for its `update_ack`: queued, or sent on a socket that may have dropped since. */
interface PendingDispatch extends PacedDispatch {
  requestId: string
  /** Event and payload, to tell a repeat of this request from another one reusing its id. */
  fingerprint: string
  promise: Promise<UpdateAckFrame>
  resolve: (f: UpdateAckFrame) => void
  reject: (e: Error) => void
  timer: ReturnType<typeof setTimeout> | undefined
  /** Answers `REQUEST_IN_PROGRESS` so far, and when the dispatch was made: bound its resends. */
  inProgress: number
  started: number
}

type Handler<F> = (frame: F) => void
type StateHandler = (s: ConnectionState, change: StateChange) => void

/** Which token the next attempt uses: the `token` option when a string, else `reauth`'s over the function. */
type TokenChoice = { token: RealtimeOptions['token']; reauthed: RealtimeConnection['reauthed'] }

/**
 * The `error` frame codes of an in-band `auth` the server refused (a token it does not take, one of
 * another user or session, a session at its socket limit): the socket stays on its token.
 */
const AUTH_REFUSALS: Record<string, number> = {
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  INVALID_API_KEY: 401,
  API_KEY_EXPIRED: 401,
  USER_MISMATCH: 403,
  API_KEY_CAMPAIGN_SCOPE: 403,
  TOO_MANY_CONNECTIONS: 429,
}

/**
 * An exception no listener was left to take (`onError` had none, or threw itself): given to the
 * runtime as an uncaught one would be (`reportError`: the page's `error` event, error trackers),
 * without unwinding the connection's own work; `console.error` where there is no `reportError`.
 */
function reportUncaught(err: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(err)
  else console.error(err)
}

/** Whose request a server deduplicates (its `actorKey`): a guest's session, else the user. */
function actorOf(f: FrameMap['connected']): string {
  return f.user_id === undefined || f.user_id === 'guest' ? `session:${f.session_id}` : `user:${f.user_id}`
}

/**
 * A refusal no retry cures: the token (401), the user, origin or path (403), the campaign (404,
 * 409 not active, 410) or the URL (400 and other validation). Not 407 (a proxy's login), 408 and
 * 425 (retry), 426 (the upgrade would be admitted: the socket dropped for another reason), 429
 * (wait `Retry-After`).
 */
function terminalStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![407, 408, 425, 426, 429].includes(status)
}

/**
 * A campaign's real-time connection. It reconnects with backoff and jitter after drops, resumes
 * from the last `campaign_event` id with `?since=`, throttles cursor frames to the campaign's
 * broadcast frequency (sending more would only be dropped by the server), and keeps dispatches
 * across drops: queued while it is down, re-sent with their `request_id` after a reconnect.
 *
 * Every frame it sends is paced to the server's inbound limit (`connected.limits`): frames over it
 * wait, in order, for the budget to refill, so the server drops none; a waiting cursor position
 * is replaced by a newer one and goes after the other frames. When the server still reports drops
 * (a `RATE_LIMITED` error with `retry_after_ms`), the dispatches sent and not acknowledged are
 * sent again, same `request_id`, once it reads frames again.
 */
export class RealtimeConnection {
  state: ConnectionState = 'connecting'
  /**
   * Id of the last `campaign_event` seen (or `latest_id` of a `resync_required`); sent as `since`
   * on reconnect.
   */
  lastEventId?: string | number
  /** The `connected` frame of the current socket. */
  session?: FrameMap['connected']
  private ws?: WebSocketLike
  private attempt = 0
  /** When the ready socket's `connected` came: a drop after `backoff.stableMs` starts over. */
  private readyAt = 0
  private retryTimer?: ReturnType<typeof setTimeout>
  private readonly handlers = new Map<string, Set<Handler<any>>>()
  private readonly stateHandlers = new Set<StateHandler>()
  /** By request_id, in the order dispatch() was called (a Map iterates in insertion order). */
  private readonly outbox = new Map<string, PendingDispatch>()
  /** The socket whose `connected` frame arrived: dispatches go out on it, or wait. */
  private ready?: WebSocketLike
  /** `actorOf` the last `connected`; undefined before the first and after an identity switch. */
  private actor?: string
  private cursorIntervalMs = 1000
  private lastCursorAt = 0
  private pendingCursor?: [number, number]
  private cursorTimer?: ReturnType<typeof setTimeout>
  private closedByUser = false
  private userId: string
  /** What goes out on the ready socket, paced to its `connected.limits`. */
  private readonly sender = new PacedSender<PendingDispatch>((p) => this.outbox.get(p.requestId) === p)
  /** Frames sent on the current socket before its `connected`: the server counted them too. */
  private sentEarly = 0
  /** The token the last socket was closed for (expired, revoked): no socket opens with it again. */
  private refusedToken?: string
  /**
   * The refusal that closed the connection for good (the server's code, message, status and
   * details), as the probe after a socket that never opened found it, or as the server closed an
   * open socket with (`CAMPAIGN_NOT_ACTIVE`); why it could not open at all (`NOT_CONNECTED`: no
   * WebSocket, a base URL no socket URL comes from); undefined otherwise.
   */
  error?: OvasabiError
  private readonly errorHandlers = new Set<RealtimeErrorHandler>()
  /**
   * Changed by `reauth` and `switchUser`: a probe's answer about the token or user before is no
   * answer about the next attempt's.
   */
  private identity = 0
  /** The probe in flight (aborted by `close()`): the next attempt waits for its answer. */
  private probing?: AbortController
  /** The reconnect came due while the probe was out: it goes once the probe has answered. */
  private dueWhileProbing = false
  /** When the pending reconnect is due (epoch ms), so a `Retry-After` can only push it later. */
  private retryDueAt = 0
  /** When the current socket last delivered a frame (or was opened): its liveness (`heartbeat`). */
  private heardAt = 0
  /** The current socket's liveness check (`heartbeat`). */
  private watchdog?: ReturnType<typeof setTimeout>
  /** Pings the ready socket now and drops it if unanswered (`heartbeat`): the network changed. */
  private pingNow?: () => void
  /**
   * The page's `online` event (browsers; none in Node): the network is back, or another one took
   * over. A connection backing off tries at once instead of at its backed-off time (which may be
   * `maxMs` away); an open one pings its socket, which may have died with the old network.
   */
  private readonly online = () => {
    if (this.closedByUser) return
    if (this.state === 'reconnecting') {
      this.attempt = 0
      this.retryNow()
    } else this.pingNow?.()
  }
  /** `online` is listened to on the page: from `start()` until the connection ends. */
  private listening = false
  /** The `error` frame `CAMPAIGN_NOT_ACTIVE` the server sends before closing for it. */
  private endedBy?: FrameMap['error']
  /** What the `token` option, a function, last gave. */
  private hookGave?: string
  /**
   * The token `reauth` gave a connection whose `token` option is a function: used while that
   * function still gives what it gave before (`stale`); once it gives another, that one is newer.
   */
  private reauthed?: { token: string; stale: string | undefined }
  /**
   * The token the server last took for this connection (the current socket's upgrade, or an
   * in-band `reauth` it answered `auth_ok`): what a refused in-band `reauth` goes back to.
   */
  private accepted?: TokenChoice
  /** In-band `reauth`s sent on the current socket and not answered yet, oldest first. */
  private inBand: TokenChoice[] = []
  /**
   * A token of the socket's own identity given while that socket was still in its handshake: sent
   * in-band (`auth`) as soon as it opens, since the socket goes on the token it opened with.
   */
  private owedAuth?: string
  /**
   * The socket dropped for another identity (`reconnectAs`): its close, whatever its code (one
   * closed in its handshake reports 1006), is a switch, retried at once and never probed.
   */
  private switchedFrom?: WebSocketLike
  /**
   * The guest session the connection acts as: its socket's `connected`, or until that comes the
   * session of the token the socket opened with (when readable). Tells a token of another guest
   * session (a reconnect) from one of its own (in-band), also during the handshake.
   */
  private sessionId?: string

  constructor(private readonly opts: RealtimeOptions) {
    this.userId = opts.userId ?? 'guest'
    this.lastEventId = opts.since
  }

  /** Subscribe to one frame type (or `*` for all); returns the unsubscribe function. */
  on<K extends keyof FrameMap>(type: K, handler: Handler<FrameMap[K]>): () => void
  on(type: '*', handler: Handler<ServerFrame>): () => void
  on(type: string, handler: Handler<any>): () => void {
    const set = this.handlers.get(type) ?? new Set()
    this.handlers.set(type, set)
    set.add(handler)
    return () => set.delete(handler)
  }

  /**
   * Called on every change of state, with what came with it (`change`): for `reconnecting`, the
   * close code and reason of the socket lost and `retryInMs`, when the next attempt goes (a
   * "reconnecting in 3 s" banner). Returns the unsubscribe function.
   */
  onState(handler: StateHandler): () => void {
    this.stateHandlers.add(handler)
    return () => this.stateHandlers.delete(handler)
  }

  /**
   * Refusals of the socket's upgrade, which a browser cannot read (it sees close code 1006): after
   * a socket closes before the server's `connected`, the connection asks the same URL over HTTP
   * and hands over the server's error. A terminal one (401: log in again; 403, 404, 409, 410,
   * 400) comes just before the state turns `closed`, and stays in `error`; a 429 before the
   * connection waits its `retryAfter`. So do the end of the campaign under an open socket (409
   * `CAMPAIGN_NOT_ACTIVE`) and a connection that cannot open at all (`NOT_CONNECTED`). A handler
   * of this connection (`on`, `onState`) that throws is reported here too, as `HANDLER_FAILED`
   * (status 0, the exception as `cause`, `details.handler` the frame type or `state`); the other
   * handlers still run and the connection goes on. Returns the unsubscribe function.
   */
  onError(handler: RealtimeErrorHandler): () => void {
    this.errorHandlers.add(handler)
    return () => this.errorHandlers.delete(handler)
  }

  /** Send a cursor position (normalised 0–1); extra calls within one tick keep only the newest. */
  sendCursor(x: number, y: number): void {
    const cx = Math.min(1, Math.max(0, x))
    const cy = Math.min(1, Math.max(0, y))
    this.pendingCursor = [cx, cy]
    const wait = this.lastCursorAt + this.cursorIntervalMs - Date.now()
    if (wait <= 0) this.flushCursor()
    else this.cursorTimer ??= setTimeout(() => this.flushCursor(), wait)
  }

  /**
   * Send any client frame (`ping`, `stream_join`, …). Returns false when the socket is not open.
   * Over the server's rate it waits for its turn (and is lost if the socket drops meanwhile).
   */
  send(frame: { type: string; [k: string]: unknown }): boolean {
    return this.out(JSON.stringify(frame))
  }

  /**
   * Dispatch an action over the socket; resolves with its `update_ack`, rejects on an error ack.
   *
   * Made while the socket is down (connecting, reconnecting), it is queued and sent once the
   * server's `connected` frame arrives; sent but not acknowledged when the socket drops, it is
   * sent again after the reconnect with the same `request_id`, which the server answers with the
   * first response instead of acting twice. Queued and re-sent frames go out in call order, paced
   * to the server's inbound limit (`connected.limits`); one the server reports it may have dropped
   * (`RATE_LIMITED`) is sent again the same way.
   * Rejects with `TIMEOUT` (no ack within `timeoutMs` of the call, reconnects included),
   * `QUEUE_FULL` (made while down with `maxQueued` already waiting), `IDENTITY_CHANGED` (the
   * connection now acts for another user or session: nothing made before is sent as them) or
   * `NOT_CONNECTED` (`close()`, or a drop with `reconnect: false`). Each carries the `requestId`,
   * so a dispatch with it again is a safe retry. A call with the requestId of one still waiting
   * shares its answer.
   */
  dispatch(event: string, payload: unknown = {}, opts: DispatchOptions = {}): Promise<UpdateAckFrame> {
    const request_id = opts.requestId ?? ulid()
    const fail = (code: string, message: string) =>
      Promise.reject(new OvasabiError(code, message, { requestId: request_id }))
    if (this.state === 'closed') return fail('NOT_CONNECTED', 'The real-time connection is closed')
    let fingerprint: string
    let frame: string
    try {
      fingerprint = JSON.stringify([event, payload])
      frame = JSON.stringify({
        type: 'campaign_event',
        campaign_id: this.opts.campaign,
        event,
        payload,
        request_id,
        timestamp: new Date().toISOString(),
      })
    } catch (err) {
      return Promise.reject(invalidPayload(`dispatch ${event}`, err, request_id))
    }
    const tooLarge = this.oversize(frame)
    if (tooLarge) return fail('PAYLOAD_TOO_LARGE', tooLarge)
    const waiting = this.outbox.get(request_id)
    if (waiting) {
      return waiting.fingerprint === fingerprint
        ? waiting.promise
        : fail('IDEMPOTENCY_KEY_REUSED', `${request_id} is already waiting for another action`)
    }
    const max = this.opts.maxQueued ?? 100
    if (!this.isReady() && this.outbox.size >= max)
      return fail('QUEUE_FULL', `${max} dispatches already wait for the real-time connection`)
    let settle!: Pick<PendingDispatch, 'resolve' | 'reject'>
    const promise = new Promise<UpdateAckFrame>((resolve, reject) => {
      settle = { resolve, reject }
    })
    const pending: PendingDispatch = {
      requestId: request_id,
      frame,
      fingerprint,
      promise,
      ...settle,
      timer: deadline(() => {
        this.outbox.delete(request_id)
        settle.reject(
          new OvasabiError('TIMEOUT', `No update_ack for ${request_id}`, { requestId: request_id }),
        )
      }, opts.timeoutMs ?? 15_000),
      sent: false,
      waiting: false,
      inProgress: 0,
      started: Date.now(),
    }
    this.outbox.set(request_id, pending)
    if (this.isReady()) this.sender.send(pending)
    return promise
  }

  /**
   * Refresh the token in-band, or reconnect when the identity (user id) changes. Dispatches still
   * waiting then reject with `IDENTITY_CHANGED`: made as the old identity, they are never sent as
   * the new one; those made after this call wait for the new identity's socket. While no socket
   * is open (the server closed the last one for its token), the next attempt goes at once with it.
   * A `token` option that is a function stays in charge: `token` is used in its place only until
   * it gives another token than it gave before this call (the client's own sockets thus follow a
   * later `register` or `login`). A token the server refuses in-band (`USER_MISMATCH`,
   * `INVALID_TOKEN`, …) goes to `onError`; the socket, and the next attempt, keep the last one it took.
   */
  reauth(token: string, userId?: string): void {
    // A `token` function stays: the client's own sockets follow its token (`register`, `login`).
    if (typeof this.opts.token === 'function') this.reauthed = { token, stale: this.hookGave }
    else this.opts.token = token
    this.identity++
    if (userId && userId !== this.userId) {
      this.switchUser(userId)
      return
    }
    if (this.send({ type: 'auth', token })) this.inBand.push(this.tokenChoice())
    // The socket is in its handshake and opens on the token before: this one goes once it is open.
    else if (this.ws?.readyState === 0) this.owedAuth = token
    else this.retryNow()
  }

  private tokenChoice(): TokenChoice {
    return { token: this.opts.token, reauthed: this.reauthed }
  }

  /**
   * Reconnect as `userId` with what the `token` option gives next (the client's own sockets after
   * `register` or `login`: the server takes a user's token only on that user's path). Dispatches
   * still waiting reject with `IDENTITY_CHANGED`, as for `reauth`. The same user: the socket stays;
   * a connection waiting to reconnect (say for a new token) tries the `token` option's at once.
   */
  switchUser(userId: string): void {
    if (userId !== this.userId) this.reconnectAs(userId)
    this.retryNow()
  }

  /**
   * @internal The client's `setToken` for a socket on the client's token (`token` the new one,
   * `userId` and `sessionId` its claims, undefined when unreadable). The socket's own identity (its
   * user, and for a guest its session) takes the token in-band (`reauth`): the socket stays. Another
   * identity (a guest who joined, another guest session, a person back to a guest) reconnects at
   * once as it, resuming after `lastEventId` as after any drop, told as `reconnecting` and never as
   * a close or an error; dispatches still waiting reject with `IDENTITY_CHANGED`. A token whose
   * claims cannot be read is offered in-band: the server's refusal goes to `onError`.
   */
  followToken(token: string, userId: string | undefined, sessionId: string | undefined): void {
    if (this.closedByUser) return
    const ownSession = this.sessionId
    const otherGuest =
      userId === 'guest' && sessionId !== undefined && ownSession !== undefined && sessionId !== ownSession
    if (userId === undefined || (userId === this.userId && !otherGuest)) {
      this.reauth(token)
      return
    }
    // The `token` option, a function, gives this token from now on: the next attempt opens with it.
    this.reconnectAs(userId)
    this.retryNow()
  }

  /** Drops the socket of the old identity (close 4000: the next attempt goes at once) and its dispatches. */
  private reconnectAs(userId: string): void {
    this.userId = userId
    this.identity++
    this.ready = undefined
    this.actor = undefined
    this.resetPacing()
    this.failPending('IDENTITY_CHANGED', `The connection now acts as ${userId}`)
    this.owedAuth = undefined
    this.switchedFrom = this.ws
    this.ws?.close(4000, 'identity changed')
  }

  /**
   * A new token or user while no socket is open and the next attempt waits its backoff (after a
   * token the server closed the socket for, that backoff grows to `maxMs`): it goes now instead.
   */
  private retryNow(): void {
    if (this.ws !== undefined || this.state !== 'reconnecting' || this.retryDueAt <= Date.now()) return
    this.attempt = 0
    this.schedule(0)
  }

  /**
   * Ends the connection for good with `error` (in `error`, to `onError`, and to the dispatches
   * still waiting): a refusal no retry cures, or a connection that cannot open at all.
   */
  private fail(error: OvasabiError): void {
    if (this.closedByUser) return
    this.error = error
    this.tell(error)
    if (!this.closedByUser) this.stop(error.message, error.code)
  }

  /** Close for good: no reconnect, and dispatches still waiting reject with `NOT_CONNECTED`. */
  close(): void {
    this.stop('Connection closed')
  }

  /** No socket, no reconnect from now on; dispatches still waiting reject with `code`. */
  private stop(message: string, code?: string): void {
    this.closedByUser = true
    this.pingNow = undefined
    clearTimeout(this.retryTimer)
    clearTimeout(this.cursorTimer)
    clearTimeout(this.watchdog)
    this.probing?.abort()
    this.probing = undefined
    this.resetPacing()
    this.ws?.close(1000, 'client closed')
    this.end(message, code)
  }

  /** @internal started by `connectRealtime`. */
  async start(): Promise<void> {
    const page = globalThis as { addEventListener?: (type: string, listener: () => void) => void }
    if (!this.closedByUser && this.state !== 'closed' && typeof page.addEventListener === 'function') {
      page.addEventListener('online', this.online)
      this.listening = true
    }
    const f = this.opts.frequency
    try {
      const hz = typeof f === 'function' ? await f() : (f ?? 1)
      this.setFrequency(hz)
    } catch {
      this.setFrequency(1)
    }
    await this.open()
  }

  setFrequency(hz: number): void {
    const rate = Number.isFinite(hz) && hz > 0 ? Math.min(hz, 60) : 1
    this.cursorIntervalMs = 1000 / rate
  }

  private async open(): Promise<void> {
    if (this.closedByUser) return
    const Ctor = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket
    if (!Ctor) throw new TypeError('No WebSocket available: pass `WebSocket` to createClient')
    let token: string | undefined
    try {
      token = await this.nextToken()
    } catch (err) {
      // A hook that refreshes the token over the network fails while offline: that is a drop
      // like any other, retried with backoff, not the end of the connection. Said to `onError`,
      // or a hook that always throws (a bug, a refresh token gone) would only look like silence.
      if (this.closedByUser) return
      const why = err instanceof Error ? err.message : String(err)
      this.tell(new OvasabiError('TOKEN_UNAVAILABLE', `The token function threw: ${why}`, { cause: err }))
      this.retryLater()
      return
    }
    // close() may have been called while the hook was answering.
    if (this.closedByUser) return
    // The server closed the last socket for this token (expired, revoked): another upgrade with it
    // would be refused too. Wait, backing off, for a new one (the hook's, or `reauth`).
    if (token !== undefined && token === this.refusedToken) {
      this.retryLater()
      return
    }
    const base = this.opts.baseUrl || (typeof location !== 'undefined' ? location.origin : '')
    const url = new URL(
      `/ws/${encodeURIComponent(this.opts.campaign)}/${encodeURIComponent(this.userId)}`,
      base,
    )
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    if (this.lastEventId !== undefined) url.searchParams.set('since', String(this.lastEventId))
    const viaQuery = this.opts.tokenTransport === 'query'
    if (token && viaQuery) url.searchParams.set('token', token)
    const ws = token && !viaQuery ? new Ctor(url.toString(), ['ovasabi', token]) : new Ctor(url.toString())
    this.ws = ws
    // The token this socket opens with: what a refused in-band `reauth` on it goes back to.
    this.accepted = this.tokenChoice()
    this.inBand = []
    this.sentEarly = 0
    this.owedAuth = undefined
    this.sessionId = token === undefined ? undefined : claimsOf(token).sessionId
    ws.onopen = () => {
      const owed = this.owedAuth
      this.owedAuth = undefined
      if (owed !== undefined && this.ws === ws && this.send({ type: 'auth', token: owed }))
        this.inBand.push(this.tokenChoice())
    }
    ws.onmessage = (ev) => this.receive(ev.data, ws)
    ws.onerror = () => {}
    const lost = (ev: { code: number; reason: string }) => {
      if (this.ws !== ws) return
      clearTimeout(this.watchdog)
      const switched = ev.code === 4000 || this.switchedFrom === ws
      this.switchedFrom = undefined
      this.owedAuth = undefined
      // The server's `connected` never came: a refused upgrade looks like any drop (1006) here.
      const unexplained = this.ready !== ws && !switched
      // Only a socket that stayed up resets the backoff: one that drops right after `connected`
      // (a server failing as it opens) is one more failed attempt.
      if (this.ready === ws && Date.now() - this.readyAt >= (this.opts.backoff?.stableMs ?? 5_000))
        this.attempt = 0
      this.ws = undefined
      this.ready = undefined
      // Unanswered, they stay the token of the next attempt (the server may have taken them).
      this.inBand = []
      this.resetPacing()
      // The campaign ended or was archived: reconnecting would be refused (409) for good. Told as
      // a refused upgrade is: `error` and `onError`, with the `error` frame's details (`status`).
      if (ev.reason === 'CAMPAIGN_NOT_ACTIVE') {
        const told = this.endedBy
        this.fail(
          new OvasabiError('CAMPAIGN_NOT_ACTIVE', told?.message || 'The campaign is not active', {
            status: 409,
            details: told?.details,
          }),
        )
        return
      }
      // A credential the server no longer accepts (a flood's 1008 is RATE_LIMITED).
      if (ev.code === 1008 && ev.reason !== 'RATE_LIMITED') this.refusedToken = token
      // Dispatches still waiting stay: re-sent after the reconnect's `connected`, or rejected by
      // their timeout or by the end of the connection.
      // A deliberate identity switch reconnects at once; drops back off, and a server restart's
      // clients spread their first retry over a window instead of coming back as one burst.
      this.retryLater(switched, ev)
      if (unexplained) void this.probe(url.toString(), token)
    }
    ws.onclose = lost
    this.watch(ws, () => {
      // Its close would come only when TCP gives up: the socket is let go now, and told so in
      // case the network comes back.
      ws.onmessage = null
      lost({ code: 4001, reason: 'HEARTBEAT_TIMEOUT' })
      ws.close(4001, 'HEARTBEAT_TIMEOUT')
    })
  }

  /**
   * Checks that `ws` is alive (`heartbeat`): after `idleMs` of silence it pings, and `dead` runs
   * when the ping is not answered within `timeoutMs`, or `connected` has not come within both. Only
   * an unanswered ping counts, not silence alone: timers of a background tab fire late.
   */
  private watch(ws: WebSocketLike, dead: () => void): void {
    clearTimeout(this.watchdog)
    this.pingNow = undefined
    const hb = this.opts.heartbeat
    if (hb === false) return
    const idleMs = hb?.idleMs ?? 25_000
    const timeoutMs = hb?.timeoutMs ?? 10_000
    this.heardAt = Date.now()
    let pingAt: number | undefined
    this.pingNow = () => {
      // Not before `connected`, and not twice: an unanswered ping is already being timed.
      if (this.ws !== ws || this.ready !== ws || (pingAt !== undefined && this.heardAt < pingAt)) return
      pingAt = Date.now()
      this.send({ type: 'ping' })
      clearTimeout(this.watchdog)
      this.watchdog = setTimeout(check, timeoutMs)
    }
    const check = () => {
      this.watchdog = undefined
      if (this.ws !== ws || this.closedByUser) return
      const now = Date.now()
      let due: number
      if (pingAt !== undefined && this.heardAt < pingAt) due = pingAt + timeoutMs
      else if (this.ready !== ws) due = this.heardAt + idleMs + timeoutMs
      else {
        due = this.heardAt + idleMs
        if (now >= due) {
          pingAt = now
          this.send({ type: 'ping' })
          due = now + timeoutMs
        }
      }
      if (now >= due) dead()
      else this.watchdog = setTimeout(check, due - now)
    }
    this.watchdog = setTimeout(check, idleMs)
  }

  /**
   * Ask the socket's URL over HTTP why it did not open (`probeUpgrade`), once per failed attempt,
   * while the backoff already scheduled runs (the next attempt waits for the answer, at most
   * `PROBE_TIMEOUT_MS`): a terminal refusal ends the connection with the server's error, a 429
   * pushes the reconnect back to its `Retry-After`; anything else (426, 5xx, no answer, a proxy's
   * page) leaves the backoff as it is.
   */
  private async probe(url: string, token: string | undefined): Promise<void> {
    const fetchImpl =
      this.opts.fetch ??
      (typeof globalThis.fetch === 'function'
        ? (input: string, init?: RequestInit) => globalThis.fetch(input, init)
        : undefined)
    if (!fetchImpl || this.closedByUser) return
    const probing = new AbortController()
    this.probing = probing
    const identity = this.identity
    const { error, ours } = await probeUpgrade(fetchImpl, url, token, { signal: probing.signal })
    const terminal =
      this.probing === probing && ours && identity === this.identity && (await this.refusedFor(error, token))
    // `close()` meanwhile.
    if (this.probing !== probing || this.closedByUser) return
    this.probing = undefined
    const due = this.dueWhileProbing
    this.dueWhileProbing = false
    if (terminal) return this.fail(error)
    if (error.status === 429 && this.state === 'reconnecting') {
      if (ours) this.tell(error)
      const wait = (error.retryAfter ?? 0) * 1000
      if (due || wait > this.retryDueAt - Date.now()) return this.schedule(wait)
    }
    if (due) this.reopen()
  }

  /** The token for the next attempt: the `token` option's, or `reauth`'s while that one is behind it. */
  private async nextToken(): Promise<string | undefined> {
    const t = this.opts.token
    if (typeof t !== 'function') return t
    const given = await t()
    this.hookGave = given
    if (this.reauthed !== undefined && given === this.reauthed.stale) return this.reauthed.token
    this.reauthed = undefined
    return given
  }

  /**
   * Whether the probe's answer `error` ends the connection: a terminal status, and for a 401 a
   * token the `token` hook still gives (one refreshed meanwhile gets its own attempt).
   */
  private async refusedFor(error: OvasabiError, token: string | undefined): Promise<boolean> {
    if (!terminalStatus(error.status)) return false
    if (error.status !== 401 || typeof this.opts.token !== 'function') return true
    try {
      return (await this.nextToken()) === token
    } catch {
      return false
    }
  }

  private retryLater(now = false, closed?: { code: number; reason: string }): void {
    if (this.closedByUser || this.opts.reconnect === false) {
      this.end('Socket closed; not reconnecting')
      return
    }
    const { backoff, random } = this.opts
    const restart = !now && closed !== undefined && isRestartClose(closed.code)
    const delay = now
      ? 0
      : restart
        ? restartDelay(backoff, random)
        : backoffDelay(this.attempt, backoff, random)
    if (!now) this.attempt++
    // Scheduled before the state handlers run: one that closes the connection, or gives it a new
    // token, acts on this attempt.
    this.schedule(delay)
    this.setState('reconnecting', { code: closed?.code, reason: closed?.reason, retryInMs: delay })
  }

  /** The next attempt, `delay` ms from now (replacing one already scheduled); after the probe's answer. */
  private schedule(delay: number): void {
    clearTimeout(this.retryTimer)
    this.dueWhileProbing = false
    this.retryDueAt = Date.now() + delay
    this.retryTimer = setTimeout(() => {
      if (this.probing) this.dueWhileProbing = true
      else this.reopen()
    }, delay)
  }

  private reopen(): void {
    void this.open().catch((err) => this.cannotOpen(err))
  }

  /**
   * @internal `open` threw: no WebSocket (Node 20 without `ws` passed), or a base URL no socket URL
   * comes from. Said in `error` and to `onError`, not only as a connection closed.
   */
  cannotOpen(err: unknown): void {
    this.fail(
      new OvasabiError('NOT_CONNECTED', err instanceof Error ? err.message : String(err), { cause: err }),
    )
  }

  private end(message: string, code = 'NOT_CONNECTED'): void {
    // Also when it ends by itself (a drop with `reconnect: false`): the page would keep the
    // connection, and every handler it holds, for as long as it lives.
    const page = globalThis as { removeEventListener?: (type: string, listener: () => void) => void }
    if (this.listening && typeof page.removeEventListener === 'function')
      page.removeEventListener('online', this.online)
    this.listening = false
    this.ready = undefined
    this.resetPacing()
    this.setState('closed')
    this.failPending(code, message)
  }

  /** Why `frame` is over the server's largest frame (`connected.limits`), if it is. */
  private oversize(frame: string): string | undefined {
    const max = this.session?.limits?.max_frame_bytes
    // A UTF-16 unit is at most 3 UTF-8 bytes: most frames need no encoding to tell.
    if (typeof max !== 'number' || frame.length * 3 <= max) return undefined
    const bytes = new TextEncoder().encode(frame).length
    return bytes > max
      ? `The action is ${bytes} bytes as a frame; the server reads at most ${max}`
      : undefined
  }

  private isReady(): boolean {
    return this.ready !== undefined && this.ready === this.ws && this.ready.readyState === 1
  }

  /** A frame for the open socket: paced once `connected` came, else (no limits known yet) at once. */
  private out(data: string): boolean {
    const ws = this.ws
    if (ws?.readyState !== 1) return false
    if (this.isReady()) this.sender.send(data)
    else {
      ws.send(data)
      this.sentEarly++
    }
    return true
  }

  /** The socket is gone (or will be): what waits for it goes with it; dispatches stay in the outbox. */
  private resetPacing(): void {
    this.sender.stop()
    for (const p of this.outbox.values()) {
      p.sent = false
      p.waiting = false
    }
  }

  /**
   * An error ack `REQUEST_IN_PROGRESS`: the first run of this request_id (sent before a drop, or
   * running on another node) is not done yet. The dispatch waits the ack's `retry_after_ms` and
   * goes again, same frame, so it settles with that run's answer; true while it does (a few
   * times, within its own `timeoutMs`), false to reject it with `error`.
   */
  private againWhenDone(
    pending: PendingDispatch,
    error: OvasabiError,
    retryAfterMs: number | undefined,
  ): boolean {
    const hint = retryAfterMs ?? (error.details as { retry_after_ms?: number } | undefined)?.retry_after_ms
    const wait = inProgressWait(error, ++pending.inProgress, pending.started, hint)
    if (wait === undefined) return false
    pending.sent = false
    setTimeout(() => {
      // Settled since, or already sent again on a new socket's `connected`.
      if (this.outbox.get(pending.requestId) !== pending || pending.sent || pending.waiting) return
      if (this.isReady()) this.sender.send(pending)
    }, wait)
    return true
  }

  /**
   * The server refused an in-band `reauth`: the socket stays on its token, which (with none still
   * waiting for an answer) is again the one the next attempt uses; the refusal goes to `onError`.
   */
  private authRefused(frame: FrameMap['error']): void {
    if (this.inBand.shift() === undefined) return
    if (this.inBand.length === 0 && this.accepted) {
      this.opts.token = this.accepted.token
      this.reauthed = this.accepted.reauthed
    }
    this.tell(
      new OvasabiError(frame.code, `The server refused the new token: ${frame.message}`, {
        status: AUTH_REFUSALS[frame.code],
        details: frame.details,
      }),
    )
  }

  private failPending(code: string, message: string): void {
    const pending = [...this.outbox]
    this.outbox.clear()
    for (const [requestId, p] of pending) {
      clearTimeout(p.timer)
      p.reject(new OvasabiError(code, message, { requestId }))
    }
  }

  private receive(data: unknown, from: WebSocketLike): void {
    // A closing socket still delivers what was on the wire (`connected` among it): after close()
    // nothing reaches the handlers, nor turns the connection `open` again.
    if (this.closedByUser) return
    if (from === this.ws) this.heardAt = Date.now()
    let frame: ServerFrame
    try {
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer)
      frame = JSON.parse(text)
    } catch {
      return
    }
    if (!frame || typeof frame.type !== 'string') return
    switch (frame.type) {
      case 'connected': {
        if (from !== this.ws) return
        this.session = frame
        this.sessionId = frame.session_id
        this.readyAt = Date.now()
        // Live from the server's newest event on: a drop before the first `campaign_event` still
        // resumes from there, instead of reconnecting without `since` and missing the gap.
        if (this.lastEventId === undefined && typeof frame.last_event_id === 'number')
          this.lastEventId = frame.last_event_id
        // The server deduplicates per actor: a repeat sent as someone else would act again.
        const actor = actorOf(frame)
        if (this.actor !== undefined && actor !== this.actor)
          this.failPending('IDENTITY_CHANGED', 'The connection now acts for another user or session')
        this.actor = actor
        this.ready = from
        this.sender.start(from, frame.limits, this.sentEarly)
        this.setState('open')
        // Before the handlers run, so what they dispatch goes out after what waited. One over the
        // server's largest frame would close the socket, and again after every reconnect.
        for (const [requestId, p] of this.outbox) {
          const tooLarge = this.oversize(p.frame)
          if (!tooLarge) this.sender.send(p)
          else {
            this.outbox.delete(requestId)
            clearTimeout(p.timer)
            p.reject(new OvasabiError('PAYLOAD_TOO_LARGE', tooLarge, { requestId }))
          }
        }
        break
      }
      case 'error':
        // The flood notice (the close at a flood's end carries no retry_after_ms): any dispatch
        // sent on this socket and not acknowledged may have been dropped. Each goes again, first
        // in line, with its `request_id` (a repeat of one the server did read is answered with its
        // first response), once the server reads frames again.
        if (frame.code === 'RATE_LIMITED' && typeof frame.retry_after_ms === 'number' && from === this.ready)
          this.sender.resend([...this.outbox.values()], frame.retry_after_ms)
        // Comes just before the close that ends the connection: its message and `details.status`.
        if (frame.code === 'CAMPAIGN_NOT_ACTIVE' && from === this.ws) this.endedBy = frame
        if (from === this.ws && !frame.request_id && Object.hasOwn(AUTH_REFUSALS, frame.code))
          this.authRefused(frame)
        break
      case 'auth_ok': {
        // Answers come in the order sent; one the server superseded by a later one gets none.
        const taken = from === this.ws ? this.inBand.shift() : undefined
        if (taken) this.accepted = this.inBand.length === 0 ? this.tokenChoice() : taken
        break
      }
      case 'campaign_event':
        if (frame.id !== undefined) this.lastEventId = frame.id
        break
      case 'resync_required':
        // Events were lost (a `?since=` the history no longer reaches, or a queue that overflowed
        // on a slow link): the handlers reload state, and a reconnect resumes after `latest_id`.
        // Forgetting the id instead would make that reconnect skip the replay altogether.
        if (typeof frame.latest_id === 'number') this.lastEventId = frame.latest_id
        break
      case 'update_ack': {
        const pending = this.outbox.get(frame.request_id)
        if (pending) {
          const error =
            frame.status === 'error' || frame.error
              ? new OvasabiError(
                  frame.error?.code ?? 'ACTION_FAILED',
                  frame.error?.message ?? 'Action failed',
                  {
                    details: frame.error?.details,
                    requestId: frame.request_id,
                  },
                )
              : undefined
          if (error && this.againWhenDone(pending, error, frame.error?.retry_after_ms)) break
          this.outbox.delete(frame.request_id)
          clearTimeout(pending.timer)
          if (error) pending.reject(error)
          else pending.resolve(frame)
        }
        break
      }
    }
    // A handler (or a state handler on `open`) that calls close(): none after it gets the frame.
    const deliver = (h: Handler<ServerFrame>) => this.closedByUser || h(frame)
    this.notify(this.handlers.get(frame.type), frame.type, deliver)
    this.notify(this.handlers.get('*'), frame.type, deliver)
  }

  /**
   * Runs each of `listeners` (a copy: one added or removed meanwhile does not change this round).
   * One that throws is reported to `onError` as `HANDLER_FAILED`, and the others still run: a
   * page's bug in one handler must not cost the others their frame, nor the connection its work
   * (the frame's own bookkeeping, the state after it, the dispatches waiting to go).
   */
  private notify<H>(listeners: Iterable<H> | undefined, what: string, call: (h: H) => void): void {
    if (!listeners) return
    for (const h of [...listeners]) {
      try {
        call(h)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        this.tell(
          new OvasabiError('HANDLER_FAILED', `A ${what} handler threw: ${message}`, {
            cause: err,
            details: { handler: what },
          }),
        )
      }
    }
  }

  /**
   * `error` to every `onError` handler; one that throws, or none at all for a handler's failure,
   * leaves it to the runtime (`reportUncaught`), never back to the connection.
   */
  private tell(error: OvasabiError): void {
    if (this.errorHandlers.size === 0) {
      if (error.code === 'HANDLER_FAILED') reportUncaught(error)
      return
    }
    for (const h of [...this.errorHandlers]) {
      try {
        h(error)
      } catch (err) {
        reportUncaught(err)
      }
    }
  }

  private flushCursor(): void {
    this.cursorTimer = undefined
    const c = this.pendingCursor
    if (!c) return
    this.pendingCursor = undefined
    this.lastCursorAt = Date.now()
    const data = JSON.stringify({ type: 'cursor', x: c[0], y: c[1] })
    // Over budget, or behind other frames, it waits, and a newer position replaces it.
    if (this.isReady()) this.sender.cursor(data)
    else this.out(data)
  }

  private setState(s: ConnectionState, change: StateChange = {}): void {
    if (this.state === s) return
    this.state = s
    this.notify(this.stateHandlers, 'state', (h) => h(s, change))
  }
}

/** Open a connection; it starts connecting at once and keeps reconnecting until `close()`. */
export function connectRealtime(opts: RealtimeOptions): RealtimeConnection {
  const conn = new RealtimeConnection(opts)
  void conn.start().catch((err) => conn.cannotOpen(err))
  return conn
}
