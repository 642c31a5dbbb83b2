import { createHash, randomBytes } from 'node:crypto'
import { ulid } from 'ulid'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import type { Db } from '../../platform/db/database.js'
import type { EventBus } from '../../platform/bus/bus.js'
import { actorKey, hasRole, type Principal } from '../../platform/auth/principal.js'
import { clientNetwork } from '../../platform/http/client-network.js'
import { isBlank } from '../../platform/text.js'
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnprocessableError,
  ValidationError,
} from '../../platform/http/errors.js'
import type { RealtimePublisher } from '../../realtime/publish.js'
import type { SocketInfo } from '../../realtime/inbound.js'
import type { RateLimiter } from './ratelimit.js'
import type { StreamRow } from './stream.repo.js'
import type { LiveStatus, VisitorLiveStream } from './stream.schema.js'
import type { StreamService } from './stream.service.js'
import type { ViewerCounter } from './live.viewers.js'
import type { ChatFrame, RecentChat } from './live.chat-recent.js'

/**
 * Where a lifecycle step hands its `stream_event`s: the action's after-commit work, so a frame the
 * bus refuses never makes a stored step look failed (and a retry run it again).
 */
export type Announcer = (announce: () => Promise<void>) => void

/** A campaign stream ended (`{stream_id}`): every node forgets its sockets that watched it. */
export const STREAM_ENDED_CHANNEL = 'ovasabi:stream:ended'

type LiveConfig = Pick<
  Config,
  | 'STREAM_INGEST_URL_TEMPLATE'
  | 'STREAM_PLAYBACK_URL_TEMPLATE'
  | 'STREAM_CHAT_MAX_LENGTH'
  | 'STREAM_CHAT_PER_MINUTE'
  | 'STREAM_CHAT_PER_MINUTE_PER_IP'
  | 'STREAM_OPEN_PER_USER'
  | 'PUBLIC_URL'
  | 'PORT'
>

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** An HTML-escaped copy for clients that insert chat into markup; `text` itself is plain text. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)

/**
 * Campaign live streams (issue 5): lifecycle `starting → live → paused → ended` on the registry's
 * rows, `stream_event`s to the campaign, chat, and viewers counted across nodes.
 */
export function createLiveStreams(deps: {
  streams: StreamService
  publisher: RealtimePublisher
  limiter: RateLimiter
  viewers: ViewerCounter
  /** Each stream's latest chat, for sockets that join it late. */
  recent: RecentChat
  config: LiveConfig
  /** Told when a step goes on without a dependency (the recent chat unreadable at a join). */
  log?: Pick<FastifyBaseLogger, 'warn'>
  /** Where a node tells the others that a stream ended (`STREAM_ENDED_CHANNEL`). */
  bus?: Pick<EventBus, 'publish' | 'subscribe'>
}) {
  const { streams, publisher, config, bus } = deps
  const publicUrl = (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '')
  /** stream id → the connection ids of this node's sockets watching it. */
  const watching = new Map<number, Set<string>>()
  /**
   * This node's sockets that joined a stream, by connection id: the streams each watches, and its
   * `stream_join`/`stream_leave` frames, applied one after the other in the order they came (a
   * join reads its stream first; a leave sent right after it must not be applied before it).
   * `closed` is set the moment the gateway hands over the socket's close: a join still reading
   * then adds nothing, so a socket gone never stays counted.
   */
  const sockets = new Map<string, { streams: Set<number>; queue: Promise<void>; closed: boolean }>()
  function inOrder<T>(
    connection: string,
    step: (s: { streams: Set<number>; closed: boolean }) => Promise<T>,
  ): Promise<T | undefined> {
    let state = sockets.get(connection)
    if (!state) {
      state = { streams: new Set(), queue: Promise.resolve(), closed: false }
      sockets.set(connection, state)
    }
    const s = state
    const done = s.queue.then(() => (s.closed ? undefined : step(s)))
    s.queue = done.then(
      () => {},
      () => {},
    )
    return done
  }

  const fill = (template: string, row: { id: number; campaign: string; key: string }) =>
    template
      .replaceAll('{public_url}', publicUrl)
      .replaceAll('{stream_id}', String(row.id))
      .replaceAll('{campaign}', encodeURIComponent(row.campaign))
      .replaceAll('{key}', row.key)
  /** A stream's playback URL: the same as `urls`', since its template never names `{key}` (config). */
  const playbackUrl = (id: number, campaign: string) =>
    fill(config.STREAM_PLAYBACK_URL_TEMPLATE, { id, campaign, key: '' })
  /**
   * The URLs an answer carries: the ingest URL only with the key, which exists only in the answer
   * that made it (a start that creates the stream, a key reset): the row keeps its hash alone.
   */
  const urls = (row: StreamRow, key?: string) => {
    const r = { id: Number(row.id), campaign: row.campaign_slug!, key: key ?? '' }
    return {
      ...(key === undefined ? {} : { ingest_url: fill(config.STREAM_INGEST_URL_TEMPLATE, r) }),
      playback_url: fill(config.STREAM_PLAYBACK_URL_TEMPLATE, r),
    }
  }

  async function load(campaign: string, rawId: unknown): Promise<StreamRow> {
    const id = Number(rawId)
    const row = await streams.findRow(id)
    // Another campaign's stream is as invisible as a missing one.
    if (!row || row.campaign_slug !== campaign)
      throw new NotFoundError(`Stream ${rawId} does not exist`, 'STREAM_NOT_FOUND')
    return row
  }
  function control(principal: Principal, row: StreamRow) {
    if (row.owner_id !== principal.user_id && !hasRole(principal, 'admin')) {
      throw new ForbiddenError('Only the stream owner or an admin controls this stream', 'FORBIDDEN')
    }
  }
  /**
   * A status change, to every socket of the campaign; never who owns the stream (as the live read
   * names no owner but the caller's own, `mine`). The owner's sockets get the frame again with
   * `mine: true`, so each of its pages (and tabs) knows the stream it controls.
   */
  async function announce(row: StreamRow) {
    const campaign = row.campaign_slug!
    const frame = {
      type: 'stream_event',
      kind: 'status',
      stream_id: Number(row.id),
      status: row.live_status,
      title: row.title,
      playback_url: urls(row).playback_url,
      timestamp: new Date().toISOString(),
    }
    await publisher.publish({ scope: 'campaign', campaign }, frame)
    if (row.owner_id)
      await publisher.publish({ scope: 'user', campaign, user_id: row.owner_id }, { ...frame, mine: true })
  }
  const refuse = (id: unknown, status: string | null, to: LiveStatus) =>
    new ConflictError(`Stream ${id} is ${status}; it cannot become ${to}`, 'INVALID_STREAM_STATE', {
      status,
    })
  async function transition(row: StreamRow, from: LiveStatus[], to: LiveStatus, later: Announcer) {
    if (!from.includes(row.live_status as LiveStatus)) throw refuse(row.id, row.live_status, to)
    // The step applies only if the row is still where it was read: a stop racing a pause (or a
    // start) must not bring an ended stream back.
    const updated = await streams.setLiveStatus(row, from, to)
    if (!updated) {
      const now = await streams.findRow(Number(row.id))
      if (!now) throw new NotFoundError(`Stream ${row.id} does not exist`, 'STREAM_NOT_FOUND')
      throw refuse(row.id, now.live_status, to)
    }
    later(() => announce(updated))
    return updated
  }
  /** A frame's `stream_id`, as the actions take it: a positive integer, or its decimal digits. */
  function streamId(frame: Record<string, unknown>): number {
    const raw = frame.stream_id
    const id =
      typeof raw === 'number' ? raw : typeof raw === 'string' && /^[0-9]{1,15}$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new ValidationError('stream_id must be a stream id (a positive integer)', [
        { path: '/stream_id', message: 'must be a positive integer' },
      ])
    }
    return id
  }
  const answer = (row: StreamRow, key?: string) => ({
    stream_id: Number(row.id),
    status: row.live_status,
    ...urls(row, key),
  })
  /** A publishing key is a bearer secret, kept only as its hash (as API keys). */
  const newKey = () => {
    const key = randomBytes(18).toString('base64url')
    return { key, hash: hashIngestKey(key) }
  }
  /** The open campaign stream (starting, live or paused) a publishing key names, if any. */
  async function byKey(key: string): Promise<StreamRow | undefined> {
    if (!key || key.length > 200) return undefined
    const row = await streams.findLiveByKeyHash(hashIngestKey(key))
    return row && OPEN.includes(row.live_status as LiveStatus) ? row : undefined
  }
  /** The open campaign stream with id `raw` (its decimal digits), if any. */
  async function openById(raw: string): Promise<StreamRow | undefined> {
    if (!/^[0-9]{1,15}$/.test(raw)) return undefined
    const row = await streams.findRow(Number(raw))
    return row?.campaign_slug && OPEN.includes(row.live_status as LiveStatus) ? row : undefined
  }

  /** This node's sockets watch stream `id` no more. */
  function unwatch(id: number) {
    const set = watching.get(id)
    watching.delete(id)
    for (const connection of set ?? []) sockets.get(connection)?.streams.delete(id)
  }
  /**
   * The other nodes' ends of streams, followed from this node's first join on (a node that never
   * had a viewer has none to forget). One that could not subscribe (Redis unreachable) tries again
   * at the next join.
   */
  let following: Promise<void> | undefined
  function follow(): Promise<void> {
    if (!bus) return Promise.resolve()
    following ??= bus
      .subscribe(STREAM_ENDED_CHANNEL, (message) => {
        const id = Number((message as { stream_id?: unknown } | null)?.stream_id)
        if (Number.isSafeInteger(id)) unwatch(id)
      })
      .then(
        () => {},
        (err: unknown) => {
          following = undefined
          deps.log?.warn(
            { err },
            'ended streams of other nodes not followed; the next stream_join tries again',
          )
        },
      )
    return following
  }

  /**
   * The stream ended: this node's viewers of it are forgotten at once, every other node's once the
   * end is stored (so none keeps counting them, or sends them a chat still on its way), and its
   * recent chat everywhere (`later`): Redis unreachable must not turn a stored stop into a 500
   * whose retry finds the stream ended.
   */
  function ended(id: number, later: Announcer) {
    unwatch(id)
    later(() => deps.recent.drop(id))
    if (bus) later(() => bus.publish(STREAM_ENDED_CHANNEL, { stream_id: id }))
  }

  return {
    /** `group` audiences `stream:<id>`: this node's sockets that joined stream `id` (`stream_join`). */
    watchers: (_campaign: string, key: string): Iterable<string> | undefined => watching.get(Number(key)),

    /** Without `stream_id`: create (starting). With it: go live (from starting or paused). */
    async start(
      principal: Principal,
      campaign: string,
      input: { title?: string; stream_id?: number | string },
      later: Announcer,
    ) {
      if (input.stream_id !== undefined) {
        const row = await load(campaign, input.stream_id)
        control(principal, row)
        return answer(await transition(row, ['starting', 'paused'], 'live', later))
      }
      const { key, hash } = newKey()
      const row = await streams.createLive({
        campaign,
        owner: principal.user_id,
        // A title that shows nothing (zero-width characters, say) is no title: the default.
        title: input.title && !isBlank(input.title) ? input.title.trim() : 'Live stream',
        ingestKeyHash: hash,
        playbackFor: (id) => playbackUrl(id, campaign),
        metadata: { created_by_session: principal.session_id },
        openLimit: config.STREAM_OPEN_PER_USER,
      })
      later(() => announce(row))
      // The only answer but a key reset's that names the key: it is not kept.
      return answer(row, key)
    },
    /**
     * A new publishing key for a stream that has not ended (its owner, or an editor of the
     * campaign): the old key is refused from then on; the new ingest URL is in this answer only.
     */
    async resetKey(principal: Principal, campaign: string, streamId: number | string) {
      const row = await load(campaign, streamId)
      if (row.owner_id !== principal.user_id && !hasRole(principal, 'editor')) {
        throw new ForbiddenError('Only the stream owner or an editor resets its key', 'FORBIDDEN')
      }
      const ended = () =>
        new ConflictError(`Stream ${row.id} has ended: its key cannot be reset`, 'INVALID_STREAM_STATE', {
          status: 'ended',
        })
      if (!OPEN.includes(row.live_status as LiveStatus)) throw ended()
      const { key, hash } = newKey()
      // Only while it is still open: a stop racing the reset wins.
      const updated = await streams.setIngestKeyHash(row, OPEN, hash)
      if (!updated) throw ended()
      return answer(updated, key)
    },
    /** The open stream a publisher's key names (the media server's publish check), if any. */
    publisher: byKey,
    /** The open stream a player asks for by id (a media server's read check), if any. */
    playable: openById,
    /** The open stream a media server names by its key, or by its id once renamed, if any. */
    async named(name: string): Promise<StreamRow | undefined> {
      return (await openById(name)) ?? (await byKey(name))
    },
    /**
     * The media server's publisher left: a live stream is paused (a dropped encoder comes back,
     * and its owner takes it live again; ended is final), a starting or paused one stays as it is.
     */
    async publishDone(row: StreamRow, later: Announcer): Promise<StreamRow> {
      if (row.live_status !== 'live') return row
      try {
        return await transition(row, ['live'], 'paused', later)
      } catch (err) {
        // Moved on meanwhile (its owner paused or stopped it): nothing left to do.
        if (err instanceof ConflictError) return row
        throw err
      }
    },
    /**
     * Ends every stream of `campaign` that has not ended (its `streaming` feature was turned off),
     * each announced as a stop is. The update decides: on several nodes hearing of the change, each
     * stream is ended, and announced, once.
     */
    async endAll(campaign: string, later: Announcer): Promise<number[]> {
      const done: number[] = []
      for (const open of await streams.currentInCampaign(campaign)) {
        const row = await streams.findRow(Number(open.id))
        if (!row || !OPEN.includes(row.live_status as LiveStatus)) continue
        const updated = await streams.setLiveStatus(row, OPEN, 'ended')
        if (!updated) continue
        later(() => announce(updated))
        ended(Number(updated.id), later)
        done.push(Number(updated.id))
      }
      return done
    },
    async pause(principal: Principal, campaign: string, streamId: number | string, later: Announcer) {
      const row = await load(campaign, streamId)
      control(principal, row)
      return answer(await transition(row, ['live'], 'paused', later))
    },
    async stop(principal: Principal, campaign: string, streamId: number | string, later: Announcer) {
      const row = await load(campaign, streamId)
      control(principal, row)
      const stopped = await transition(row, ['starting', 'live', 'paused'], 'ended', later)
      ended(Number(stopped.id), later)
      return answer(stopped)
    },
    /**
     * Erasure (a `users.onErase` hook, in its transaction): the person's campaign streams end and
     * keep nothing that names them. Once the erasure has committed (the function returned), each
     * campaign is told of those that were still open, as for a stop, and `/cable` of every change.
     */
    async erase(person: { user_id: string }, trx: Db) {
      const erased = await streams.eraseOwner(person.user_id, trx)
      return async () => {
        await erased.announce()
        const open = new Set(erased.ended)
        // Already after the erasure's commit: each step runs here, in order.
        const steps: Array<() => Promise<void>> = []
        for (const row of erased.rows) {
          if (!open.has(Number(row.id))) continue
          ended(Number(row.id), (step) => steps.push(step))
          steps.push(() => announce(row))
        }
        for (const step of steps) await step()
        // What they said in other people's streams goes from the recent chat late viewers get.
        await deps.recent.forget(person.user_id)
      }
    },
    /**
     * `ip`: the client's address (behind a trusted proxy, the one it forwarded). Each sender (a
     * person; a guest session) has `STREAM_CHAT_PER_MINUTE` messages a minute in the campaign, and
     * its client network (an IPv4
     * address, an IPv6 /64) `STREAM_CHAT_PER_MINUTE_PER_IP` for all its sessions together: a guest
     * session costs nothing to mint, so the session's budget alone did not bound one address.
     */
    async chat(
      principal: Principal,
      campaign: string,
      input: { stream_id: number | string; text: string },
      ip: string,
    ) {
      // Plain text: control characters (but newlines), C1 ones included, removed; nothing is ever
      // parsed as HTML.
      const text = input.text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '').trim()
      // Nothing visible (only spaces, format characters such as zero-width spaces, joiners or
      // direction marks, lone combining marks, the Hangul fillers) is empty too: a blank line.
      if (isBlank(text)) throw new UnprocessableError('Chat message is empty', 'CHAT_EMPTY')
      if ([...text].length > config.STREAM_CHAT_MAX_LENGTH) {
        throw new UnprocessableError(
          `Chat messages are at most ${config.STREAM_CHAT_MAX_LENGTH} characters`,
          'CHAT_TOO_LONG',
        )
      }
      const row = await load(campaign, input.stream_id)
      if (row.live_status !== 'live' && row.live_status !== 'paused') {
        throw new ConflictError(`Stream ${row.id} is ${row.live_status}`, 'STREAM_NOT_LIVE')
      }
      const rate = await deps.limiter.hit(
        `chat:${campaign}:${actorKey(principal)}`,
        config.STREAM_CHAT_PER_MINUTE,
      )
      if (!rate.allowed)
        throw new TooManyRequestsError(rate.retryAfter, 'Too many chat messages', 'CHAT_RATE_LIMITED')
      // Counted only once the sender's own budget let the message through: a sender over its limit
      // does not spend its network's.
      const net = await deps.limiter.hit(
        `chat:${campaign}:net:${clientNetwork(ip)}`,
        config.STREAM_CHAT_PER_MINUTE_PER_IP,
      )
      if (!net.allowed) {
        throw new TooManyRequestsError(
          net.retryAfter,
          'Too many chat messages from this network',
          'CHAT_RATE_LIMITED',
        )
      }
      const message: ChatFrame = {
        type: 'stream_event',
        kind: 'chat',
        stream_id: Number(row.id),
        message_id: ulid(),
        user_id: principal.user_id,
        text,
        text_html: escapeHtml(text),
        timestamp: new Date().toISOString(),
      }
      // Chat is kept nowhere else: a message that could not be kept or sent is refused, never
      // acknowledged.
      try {
        // Kept before it is sent: a socket joining meanwhile reads it or, already a member, is sent it.
        await deps.recent.push(message.stream_id, message)
      } catch (err) {
        throw err instanceof AppError ? err : chatUnavailable(err)
      }
      try {
        // To the stream's viewers only (sockets that sent `stream_join`), on every node.
        await publisher.publish({ scope: 'group', campaign, group: `stream:${row.id}` }, message)
      } catch (err) {
        // Refused, so taken back from the recent chat: its sender is told to send it again, and
        // late viewers read it once, not twice. (Redis unreachable, it stays until Redis is back.)
        await deps.recent
          .withdraw(message.stream_id, message)
          .catch((cause: unknown) =>
            deps.log?.warn(
              { err: cause, stream_id: message.stream_id, message_id: message.message_id },
              'refused chat message left in the recent chat',
            ),
          )
        throw err instanceof AppError ? err : chatUnavailable(err)
      }
      return { message_id: message.message_id, stream_id: message.stream_id, text }
    },

    /**
     * The socket watches the stream from now on (its chat, its viewer count); the answer, to that
     * socket only, is the stream's recent chat (`chat_recent`, oldest first): a chat frame may
     * come both live and in it (same `message_id`).
     */
    async join(socket: SocketInfo, frame: Record<string, unknown>) {
      const wanted = streamId(frame)
      return inOrder(socket.connection_id, async (state) => {
        // In its turn: a leave or a close right behind the join must find it queued.
        await follow()
        const row = await load(socket.campaign, wanted)
        if (row.live_status === 'ended')
          throw new ConflictError(`Stream ${row.id} has ended`, 'STREAM_NOT_LIVE')
        // Closed while the row was read: the close already took off what this socket watched.
        if (state.closed) return
        const id = Number(row.id)
        let set = watching.get(id)
        if (!set) {
          set = new Set()
          watching.set(id, set)
        }
        set.add(socket.connection_id)
        state.streams.add(id)
        // Read once a member: a message sent meanwhile is in the list, or comes live, or both.
        try {
          const messages = await deps.recent.recent(id)
          return { type: 'stream_event', kind: 'chat_recent', stream_id: id, messages }
        } catch (err) {
          // The socket watches the stream already: its chat comes live from now on. Only the
          // history is missing (Redis unreachable), which the page can say, so the join stands.
          deps.log?.warn({ err, stream_id: id }, 'recent chat unreadable: stream_join answered without it')
          return {
            type: 'stream_event',
            kind: 'chat_recent',
            stream_id: id,
            messages: [],
            history_unavailable: true,
          }
        }
      })
    },
    async leave(socket: SocketInfo, frame: Record<string, unknown>) {
      const id = streamId(frame)
      // A socket that never joined anything has nothing to leave (and gets no state for it).
      if (!sockets.has(socket.connection_id)) return
      await inOrder(socket.connection_id, async (state) => {
        watching.get(id)?.delete(socket.connection_id)
        state.streams.delete(id)
      })
    },
    async closed(socket: SocketInfo) {
      const state = sockets.get(socket.connection_id)
      if (!state) return
      state.closed = true
      sockets.delete(socket.connection_id)
      for (const id of state.streams) {
        const set = watching.get(id)
        set?.delete(socket.connection_id)
        if (set?.size === 0) watching.delete(id)
      }
    },
    localViewers: (id: number) => watching.get(id)?.size ?? 0,

    /**
     * The campaign's streams that have not ended, as `stream_event`s describe them: a page that
     * lost frames (`resync_required`) reads the truth here. Viewers only for live streams; `mine`
     * for those `reader` owns (guests own none).
     */
    async current(campaign: string, reader: Pick<Principal, 'user_id'>): Promise<VisitorLiveStream[]> {
      const rows = await streams.currentInCampaign(campaign)
      return Promise.all(
        rows.map(async (row) => {
          const id = Number(row.id)
          const status = row.live_status as VisitorLiveStream['status']
          return {
            stream_id: id,
            title: row.title ?? 'Live stream',
            status,
            started_at: status === 'starting' || !row.last_live_at ? null : row.last_live_at.toISOString(),
            playback_url: playbackUrl(id, campaign),
            ...(status === 'live' ? { viewers: await deps.viewers.total(id) } : {}),
            mine: reader.user_id !== 'guest' && row.owner_id === reader.user_id,
          }
        }),
      )
    },

    /** Once a second: report this node's counts; one node per stream publishes the total. */
    async tick() {
      for (const row of await streams.liveRows()) {
        const id = Number(row.id)
        await deps.viewers.report(id, watching.get(id)?.size ?? 0)
        if (!(await deps.viewers.elect(id))) continue
        await publisher.publish(
          { scope: 'campaign', campaign: row.campaign_slug! },
          { type: 'stream_event', kind: 'viewers', stream_id: id, viewers: await deps.viewers.total(id) },
        )
      }
    },
  }
}
export type LiveStreams = ReturnType<typeof createLiveStreams>

/** Seconds a sender is told to wait before sending a refused chat message again. */
const CHAT_RETRY_AFTER_SECONDS = 5

/**
 * A chat message that could not be kept or sent (Redis unreachable): 503 with `Retry-After`, and
 * `details.retry_after_ms` for an answer on a socket, which has no headers.
 */
const chatUnavailable = (cause: unknown) =>
  new AppError(503, 'CHAT_UNAVAILABLE', 'Chat is unavailable right now: the message was not sent', {
    cause,
    details: { retry_after_ms: CHAT_RETRY_AFTER_SECONDS * 1000 },
    headers: { 'retry-after': String(CHAT_RETRY_AFTER_SECONDS) },
  })

/** A campaign stream that has not ended. */
const OPEN: LiveStatus[] = ['starting', 'live', 'paused']

/** How a publishing key is stored and looked up: sha256, hex (migration 036 hashed the old keys so). */
export const hashIngestKey = (key: string) => createHash('sha256').update(key).digest('hex')
