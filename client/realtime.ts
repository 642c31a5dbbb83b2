import { OvasabiError } from './errors.js'
import type { FrameMap, ServerFrame, UpdateAckFrame } from './frames.js'
import { ulid } from './ulid.js'

/** The subset of the WebSocket API the SDK uses: browsers' `WebSocket` and Node's `ws` both fit. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: any) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: any) => void) | null
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface BackoffOptions {
  /** First retry delay ceiling in ms (default 500). */
  initialMs?: number
  /** Largest delay ceiling in ms (default 30 000). */
  maxMs?: number
  factor?: number
}

export interface RealtimeOptions {
  baseUrl: string
  campaign: string
  /** The path's user id: `guest` for a guest session (default), else the user's id. */
  userId?: string
  /**
   * The JWT, or a function asked before every (re)connect so a refreshed token is used. A
   * function that throws (a refresh while offline) counts as a failed attempt: retried with backoff.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  WebSocket?: WebSocketCtor
  /** Resume after this campaign_event id (then kept up to date automatically). */
  since?: string | number
  /** Cursor send rate in Hz: the campaign's `scheduling.frequency`, or a function fetching it. */
  frequency?: number | (() => Promise<number>)
  /** `protocol` (default) sends the token as `Sec-WebSocket-Protocol: ovasabi, <token>`; `query` as `?token=`. */
  tokenTransport?: 'protocol' | 'query'
  backoff?: BackoffOptions
  /** Reconnect after unexpected closes (default true). */
  reconnect?: boolean
  /** Injectable randomness for the jitter (tests). */
  random?: () => number
}

type Handler<F> = (frame: F) => void

/** Delay before reconnect attempt `attempt` (0-based): exponential ceiling, "equal jitter". */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random) {
  const initial = opts.initialMs ?? 500
  const ceiling = Math.min(opts.maxMs ?? 30_000, initial * (opts.factor ?? 2) ** attempt)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/**
 * A campaign's real-time connection. It reconnects with backoff and jitter after drops, resumes
 * from the last `campaign_event` id with `?since=`, and throttles cursor frames to the campaign's
 * broadcast frequency (sending more would only be dropped by the server).
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
  private retryTimer?: ReturnType<typeof setTimeout>
  private readonly handlers = new Map<string, Set<Handler<any>>>()
  private readonly stateHandlers = new Set<(s: ConnectionState) => void>()
  private readonly pendingAcks = new Map<
    string,
    { resolve: (f: UpdateAckFrame) => void; reject: (e: Error) => void }
  >()
  private cursorIntervalMs = 1000
  private lastCursorAt = 0
  private pendingCursor?: [number, number]
  private cursorTimer?: ReturnType<typeof setTimeout>
  private closedByUser = false
  private userId: string

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

  onState(handler: (s: ConnectionState) => void): () => void {
    this.stateHandlers.add(handler)
    return () => this.stateHandlers.delete(handler)
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

  /** Send any client frame (`ping`, `stream_join`, …). Returns false when the socket is not open. */
  send(frame: { type: string; [k: string]: unknown }): boolean {
    if (this.ws?.readyState !== 1) return false
    this.ws!.send(JSON.stringify(frame))
    return true
  }

  /** Dispatch an action over the socket; resolves with its `update_ack`, rejects on an error ack. */
  dispatch(event: string, payload: unknown = {}, opts: { requestId?: string; timeoutMs?: number } = {}) {
    const request_id = opts.requestId ?? ulid()
    return new Promise<UpdateAckFrame>((resolve, reject) => {
      const sent = this.send({
        type: 'campaign_event',
        campaign_id: this.opts.campaign,
        event,
        payload,
        request_id,
        timestamp: new Date().toISOString(),
      })
      if (!sent) return reject(new OvasabiError('NOT_CONNECTED', 'The real-time connection is not open'))
      const timer = setTimeout(() => {
        this.pendingAcks.delete(request_id)
        reject(new OvasabiError('TIMEOUT', `No update_ack for ${request_id}`, { requestId: request_id }))
      }, opts.timeoutMs ?? 15_000)
      this.pendingAcks.set(request_id, {
        resolve: (f) => {
          clearTimeout(timer)
          resolve(f)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
    })
  }

  /** Refresh the token in-band, or reconnect when the identity (user id) changes. */
  reauth(token: string, userId?: string): void {
    this.opts.token = token
    if (userId && userId !== this.userId) {
      this.userId = userId
      this.ws?.close(4000, 'identity changed')
      return
    }
    this.send({ type: 'auth', token })
  }

  close(): void {
    this.closedByUser = true
    clearTimeout(this.retryTimer)
    clearTimeout(this.cursorTimer)
    this.ws?.close(1000, 'client closed')
    this.setState('closed')
    for (const [, p] of this.pendingAcks) p.reject(new OvasabiError('NOT_CONNECTED', 'Connection closed'))
    this.pendingAcks.clear()
  }

  /** @internal started by `connectRealtime`. */
  async start(): Promise<void> {
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
    const t = this.opts.token
    let token: string | undefined
    try {
      token = typeof t === 'function' ? await t() : t
    } catch {
      // A hook that refreshes the token over the network fails while offline: that is a drop
      // like any other, retried with backoff, not the end of the connection.
      this.retryLater()
      return
    }
    // close() may have been called while the hook was answering.
    if (this.closedByUser) return
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
    ws.onmessage = (ev) => this.receive(ev.data)
    ws.onerror = () => {}
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = undefined
      for (const [, p] of this.pendingAcks)
        p.reject(new OvasabiError('NOT_CONNECTED', `Socket closed (${ev.code})`))
      this.pendingAcks.clear()
      // A deliberate identity switch reconnects at once; drops back off.
      this.retryLater(ev.code === 4000)
    }
  }

  private retryLater(now = false): void {
    if (this.closedByUser || this.opts.reconnect === false) {
      this.setState('closed')
      return
    }
    this.setState('reconnecting')
    const delay = now ? 0 : backoffDelay(this.attempt++, this.opts.backoff, this.opts.random)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => void this.open().catch(() => this.setState('closed')), delay)
  }

  private receive(data: unknown): void {
    let frame: ServerFrame
    try {
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer)
      frame = JSON.parse(text)
    } catch {
      return
    }
    if (!frame || typeof frame.type !== 'string') return
    switch (frame.type) {
      case 'connected':
        this.session = frame
        this.attempt = 0
        this.setState('open')
        break
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
        const pending = this.pendingAcks.get(frame.request_id)
        if (pending) {
          this.pendingAcks.delete(frame.request_id)
          if (frame.status === 'error' || frame.error)
            pending.reject(
              new OvasabiError(
                frame.error?.code ?? 'ACTION_FAILED',
                frame.error?.message ?? 'Action failed',
                {
                  details: frame.error?.details,
                  requestId: frame.request_id,
                },
              ),
            )
          else pending.resolve(frame)
        }
        break
      }
    }
    for (const h of this.handlers.get(frame.type) ?? []) h(frame)
    for (const h of this.handlers.get('*') ?? []) h(frame)
  }

  private flushCursor(): void {
    this.cursorTimer = undefined
    const c = this.pendingCursor
    if (!c) return
    this.pendingCursor = undefined
    this.lastCursorAt = Date.now()
    this.send({ type: 'cursor', x: c[0], y: c[1] })
  }

  private setState(s: ConnectionState): void {
    if (this.state === s) return
    this.state = s
    for (const h of this.stateHandlers) h(s)
  }
}

/** Open a connection; it starts connecting at once and keeps reconnecting until `close()`. */
export function connectRealtime(opts: RealtimeOptions): RealtimeConnection {
  const conn = new RealtimeConnection(opts)
  void conn.start().catch(() => conn.close())
  return conn
}
