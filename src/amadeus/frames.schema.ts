import { type TSchema, Type } from 'typebox'
import { EnvelopeInput } from '../nexus/envelope.js'

/**
 * The wire frames of ARCHITECTURE section 4 (WebSocket) and of the ActionCable protocol (`/cable`),
 * as TypeBox schemas. The event-schema registry serves them to validation and to the AsyncAPI
 * document; the gateway can validate with the same objects. Known fields are typed; frames stay
 * open (`additionalProperties`) where the section lists contents loosely (stats, progress).
 */

const Id = Type.String({ minLength: 1, maxLength: 128 })
const IsoTime = Type.String({ format: 'date-time' })
const ErrorInfo = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
  /** A refusal to send again after this long (REST's `Retry-After`): `REQUEST_IN_PROGRESS`, a rate limit. */
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
})

/** The statuses a campaign keeps sockets in: its waiting room, live, or an editor's preview. */
function CampaignPhaseStatus() {
  return Type.Union([Type.Literal('scheduled'), Type.Literal('active'), Type.Literal('draft')])
}

/**
 * The payload of the `campaign_event` `campaign.status`, sent by each node to its own sockets of
 * the campaign when its status changed since they were told (`connected.status`): its scheduled
 * start passed, an edit moved the start or took it back to the waiting room, a draft was published.
 * Not kept for `?since=` (it carries no `id`): a socket that reconnects reads `connected.status`.
 */
export const CampaignStatusEvent = Type.Object({
  status: CampaignPhaseStatus(),
  /** When a `scheduled` campaign starts. */
  starts_at: Type.Optional(IsoTime),
})

/** What the gateway sends once after the upgrade (see `realtime/gateway.ts`). */
export const ConnectedFrame = Type.Object({
  type: Type.Literal('connected'),
  session_id: Id,
  user_id: Id,
  campaign: Id,
  /** This socket's id in `presence_update` cursor tuples. */
  cursor_id: Id,
  active_users: Type.Integer({ minimum: 0 }),
  server_time: IsoTime,
  /** Presence ticks per second. */
  tick_rate: Type.Number({ exclusiveMinimum: 0 }),
  max_cursors: Type.Integer({ minimum: 0 }),
  /** The newest campaign event id: reconnect with `?since=` it to miss nothing. */
  last_event_id: Type.Integer({ minimum: 0 }),
  /** When the token expires (refresh in-band with an `auth` frame), or null. */
  expires_at: Type.Union([IsoTime, Type.Null()]),
  /** The campaign's status now; a later change comes as a `campaign.status` event. */
  status: Type.Optional(CampaignPhaseStatus()),
  /** When a `scheduled` campaign starts. */
  starts_at: Type.Optional(IsoTime),
  /** The socket's inbound token bucket: frames over it are dropped (told once per 10 s window). */
  limits: Type.Object({
    messages_per_second: Type.Number({ exclusiveMinimum: 0 }),
    burst: Type.Integer({ minimum: 1 }),
    /** The largest frame the server reads, in bytes (`WS_MAX_PAYLOAD`); a larger one closes the socket (1009). */
    max_frame_bytes: Type.Integer({ minimum: 1 }),
  }),
})

const CursorTuple = Type.Tuple([Type.String(), Type.Number(), Type.Number()])

export const PresenceUpdateFrame = Type.Object({
  type: Type.Literal('presence_update'),
  active_users: Type.Integer({ minimum: 0 }),
  /** Only cursors that changed since the last tick (all of them when `snapshot`): `[id, x, y]`, x and y normalised 0–1. */
  cursors: Type.Array(CursorTuple),
  /** Cursor ids whose sockets left since the last tick. */
  left: Type.Array(Type.String()),
  /** Cursor ids that went idle since the last tick. */
  idle: Type.Array(Type.String()),
  tick: Type.Integer({ minimum: 0 }),
  /** Set on the catch-up frame a socket gets after it fell behind. */
  snapshot: Type.Optional(Type.Literal(true)),
})

/**
 * Events were lost: `?since=` is older than the history keeps or more than the socket may queue,
 * or events overflowed a slow socket's queue. `since`: the last id it got; reload state, then go
 * on from `latest_id`.
 */
export const ResyncRequiredFrame = Type.Object({
  type: Type.Literal('resync_required'),
  since: Type.Integer({ minimum: 0 }),
  latest_id: Type.Integer({ minimum: 0 }),
})

/** Answer to `ping`; `ts` echoes the client's when it sent one. `server_time` is epoch milliseconds. */
export const PongFrame = Type.Object({
  type: Type.Literal('pong'),
  ts: Type.Optional(Type.Number()),
  server_time: Type.Integer(),
})

/** In-band token refresh accepted: the socket now lives until `expires_at`. */
export const AuthOkFrame = Type.Object({
  type: Type.Literal('auth_ok'),
  expires_at: Type.Union([IsoTime, Type.Null()]),
})

/**
 * The campaign's figures, sent on a tick when they changed (read at most once a second per node)
 * or when `active_users` changed (at most once a second), and once to each socket after
 * `connected` (see `realtime/stats.ts`).
 */
export const StatsUpdateFrame = Type.Object(
  {
    type: Type.Literal('stats_update'),
    campaign_id: Id,
    active_users: Type.Integer({ minimum: 0 }),
    /** The counters `GET /api/campaign/{slug}/stats` lists under `counters` (leads, registrations, referrals…). */
    counters: Type.Record(Type.String(), Type.Integer()),
    /** Top referrers by qualified referrals, display names only; present when the `referral` feature is on. */
    leaderboard: Type.Optional(
      Type.Array(
        Type.Object({
          rank: Type.Integer({ minimum: 1 }),
          display_name: Type.String(),
          referrals: Type.Integer({ minimum: 0 }),
        }),
      ),
    ),
    timestamp: IsoTime,
  },
  { additionalProperties: true },
)

/** What the dispatcher publishes after every action (see `nexus/dispatcher.ts` publishAck). */
export const UpdateAckFrame = Type.Object({
  type: Type.Literal('update_ack'),
  request_id: Id,
  action: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('success'), Type.Literal('error')]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ErrorInfo),
})

/** A campaign event as the server sends it: the envelope after the server filled it in. */
export const CampaignEventFrame = Type.Object(
  {
    type: Type.Literal('campaign_event'),
    /** The campaign's event id, increasing: reconnect with `?since=` the last one seen to miss nothing. */
    id: Type.Optional(Type.Integer({ minimum: 1 })),
    campaign_id: Id,
    user: Type.Optional(
      Type.Object({
        user_id: Id,
        session_id: Type.Optional(Id),
        roles: Type.Optional(Type.Array(Type.String())),
      }),
    ),
    event: Type.String({ minLength: 1, maxLength: 96 }),
    payload: Type.Unknown(),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    timestamp: IsoTime,
    request_id: Type.Optional(Id),
  },
  { additionalProperties: true },
)

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
/** Lifecycle frames stay open: a module may add a field without breaking a strict reader. */
const open = { additionalProperties: true } as const

/**
 * To the uploader, as its upload moves (`media/media.events.ts` publishStatus): `uploading` with
 * `bytes`, `total` and `progress` (percent; null when no total is known), `processing`, `ready`
 * with `url` and `thumbnail_url`, or `failed` with `reason`.
 */
export const MediaEventFrame = Type.Object(
  {
    type: Type.Literal('media_event'),
    campaign_id: Id,
    media_id: Type.String(),
    status: Type.Union([
      Type.Literal('uploading'),
      Type.Literal('processing'),
      Type.Literal('ready'),
      Type.Literal('failed'),
    ]),
    bytes: Type.Optional(Type.Integer({ minimum: 0 })),
    total: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
    progress: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 100 }))),
    url: Type.Optional(Nullable(Type.String())),
    thumbnail_url: Type.Optional(Nullable(Type.String())),
    /** `failed` only: e.g. `interrupted`, `deleted`, `processing_error`, `idle_timeout`. */
    reason: Type.Optional(Type.String()),
  },
  { ...open, description: 'Media upload progress and lifecycle' },
)

/** A chat message, to the sockets that joined its stream (`stream_join`) only. */
const StreamChatFrame = Type.Object(
  {
    type: Type.Literal('stream_event'),
    kind: Type.Literal('chat'),
    stream_id: Type.Integer(),
    message_id: Type.String(),
    user_id: Type.String(),
    /** As sent (plain text); `text_html` is it escaped for HTML. */
    text: Type.String(),
    text_html: Type.String(),
    timestamp: IsoTime,
  },
  open,
)

/**
 * A campaign live stream (`stream/live.service.ts`): its status, a chat message, a joining
 * socket's recent chat, or its viewer count.
 */
export const StreamEventFrame = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('stream_event'),
        kind: Type.Literal('status'),
        stream_id: Type.Integer(),
        status: Type.Union([
          Type.Literal('starting'),
          Type.Literal('live'),
          Type.Literal('paused'),
          Type.Literal('ended'),
        ]),
        title: Nullable(Type.String()),
        playback_url: Type.String(),
        timestamp: IsoTime,
        /** On the copy to the owner's own sockets. */
        mine: Type.Optional(Type.Literal(true)),
      },
      open,
    ),
    StreamChatFrame,
    Type.Object(
      {
        type: Type.Literal('stream_event'),
        kind: Type.Literal('chat_recent'),
        stream_id: Type.Integer(),
        /** The stream's last 50 chat frames, oldest first: the answer to this socket's `stream_join`. */
        messages: Type.Array(StreamChatFrame),
        /**
         * The recent chat could not be read (Redis unreachable): `messages` is empty, yet the join
         * stands and chat comes live from now on.
         */
        history_unavailable: Type.Optional(Type.Literal(true)),
      },
      open,
    ),
    Type.Object(
      {
        type: Type.Literal('stream_event'),
        kind: Type.Literal('viewers'),
        stream_id: Type.Integer(),
        viewers: Type.Integer({ minimum: 0 }),
      },
      open,
    ),
  ],
  { description: 'Live-stream lifecycle' },
)

/**
 * A notification for the user: a lead's status moved (`quote.service.ts` notifySubmitter), or the
 * welcome on joining (`user.service.ts`, its `message` in the locale joined with).
 */
export const NotificationFrame = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('notification'),
        kind: Type.Literal('quote.status'),
        campaign_id: Id,
        lead_id: Type.String(),
        status: Type.String(),
        message: Type.String(),
        timestamp: IsoTime,
      },
      open,
    ),
    Type.Object(
      {
        type: Type.Literal('notification'),
        event: Type.Literal('user.welcome'),
        campaign: Id,
        message: Type.String(),
        referral_code: Nullable(Type.String()),
      },
      open,
    ),
  ],
  { description: 'A notification for the user' },
)

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  message: Type.String(),
  /** What the REST error's `details` would hold (`realtime/frames.ts` errorFrame). */
  details: Type.Optional(Type.Unknown()),
  request_id: Type.Optional(Type.String()),
  /** `RATE_LIMITED` while frames are being dropped: when the socket's bucket holds a token again. */
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
})

export const CursorFrame = Type.Object(
  {
    type: Type.Literal('cursor'),
    x: Type.Number({ minimum: 0, maximum: 1 }),
    y: Type.Number({ minimum: 0, maximum: 1 }),
  },
  { additionalProperties: false },
)
export const PingFrame = Type.Object(
  { type: Type.Literal('ping'), ts: Type.Optional(Type.Number({ description: 'Echoed in the pong' })) },
  { additionalProperties: false },
)
/** In-band token refresh: a new token for the same user (and the same guest session). */
export const AuthFrame = Type.Object({
  type: Type.Literal('auth'),
  token: Type.String({ minLength: 1, maxLength: 4096 }),
})
export const ClientCampaignEventFrame = EnvelopeInput

// ActionCable protocol (what `@rails/actioncable` speaks on `/cable`).
export const CableWelcome = Type.Object({ type: Type.Literal('welcome') })
export const CablePing = Type.Object({ type: Type.Literal('ping'), message: Type.Integer() })
export const CableConfirm = Type.Object({
  type: Type.Literal('confirm_subscription'),
  identifier: Type.String(),
})
export const CableReject = Type.Object({
  type: Type.Literal('reject_subscription'),
  identifier: Type.String(),
})
export const CableDisconnect = Type.Object({
  type: Type.Literal('disconnect'),
  reason: Type.Optional(Type.String()),
  reconnect: Type.Optional(Type.Boolean()),
})
export const CableCommand = Type.Object({
  command: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe'), Type.Literal('message')]),
  /** JSON string, e.g. `{"channel":"StreamsChannel"}`. */
  identifier: Type.String(),
  data: Type.Optional(Type.String()),
})
// Internal bus channels of the foundation.
/**
 * `previous`: the campaign before the change, as far as listeners need it (`null`: the change
 * created it; absent from a node that does not send it, read as unknown).
 */
export const CampaignChangedMessage = Type.Object({
  slug: Type.String(),
  previous: Type.Optional(
    Type.Union([
      Type.Null(),
      Type.Object({
        version: Type.Integer({ minimum: 1 }),
        metadata: Type.Object({ features: Type.Optional(Type.Unknown()) }),
      }),
    ]),
  ),
})
export const RealtimeBusMessage = Type.Object({
  audience: Type.Record(Type.String(), Type.Unknown()),
  frame: Type.Object({ type: Type.String() }, { additionalProperties: true }),
})

/**
 * A frame for one campaign's sockets on every node; a `campaign_event` comes through the history,
 * which adds its `frame.id` and the time it was stored (`ts`, ms).
 */
export const CampaignBusMessage = Type.Object({
  audience: Type.Record(Type.String(), Type.Unknown()),
  frame: Type.Object(
    { type: Type.String(), id: Type.Optional(Type.Integer()) },
    { additionalProperties: true },
  ),
  ts: Type.Optional(Type.Number()),
})

/**
 * Each node's own cursor changes per tick and campaign, merged by the other nodes
 * (`realtime/cluster.ts`): changes (`d`), all of the node's cursors (`d` with `full`), or a request
 * for everyone's (`sync`, no `d`) from a node that starts listening to the campaign.
 */
export const CursorBatchMessage = Type.Object({
  node: Type.String({ minLength: 1 }),
  d: Type.Optional(
    Type.Object({
      cursors: Type.Array(CursorTuple),
      left: Type.Array(Type.String()),
      idle: Type.Array(Type.String()),
    }),
  ),
  full: Type.Optional(Type.Literal(true)),
  sync: Type.Optional(Type.Literal(true)),
})
/** A node that stopped heartbeating, announced by the node that reaped it; the others drop its cursors. */
export const NodeDownMessage = Type.Object({ node: Type.String({ minLength: 1 }) })
