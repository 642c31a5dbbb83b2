import { Type } from 'typebox'
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
})

export const ConnectedFrame = Type.Object({
  type: Type.Literal('connected'),
  session_id: Id,
  campaign: Id,
  active_users: Type.Integer({ minimum: 0 }),
  server_time: IsoTime,
})

export const PresenceUpdateFrame = Type.Object({
  type: Type.Literal('presence_update'),
  active_users: Type.Integer({ minimum: 0 }),
  /** Only cursors that changed since the last tick: `[id, x, y]`, x and y normalised 0–1. */
  cursors: Type.Array(Type.Tuple([Type.String(), Type.Number(), Type.Number()])),
  tick: Type.Integer({ minimum: 0 }),
})

export const StatsUpdateFrame = Type.Object(
  {
    type: Type.Literal('stats_update'),
    counts: Type.Optional(Type.Record(Type.String(), Type.Number())),
    leaderboard: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
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

function lifecycleFrame(type: string, description: string) {
  return Type.Object({ type: Type.Literal(type) }, { additionalProperties: true, description })
}

export const MediaEventFrame = lifecycleFrame('media_event', 'Media upload progress and lifecycle')
export const StreamEventFrame = lifecycleFrame('stream_event', 'Live-stream lifecycle')
export const NotificationFrame = lifecycleFrame('notification', 'A notification for the user')

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  message: Type.String(),
  request_id: Type.Optional(Type.String()),
})

export const CursorFrame = Type.Object(
  {
    type: Type.Literal('cursor'),
    x: Type.Number({ minimum: 0, maximum: 1 }),
    y: Type.Number({ minimum: 0, maximum: 1 }),
  },
  { additionalProperties: false },
)
export const PingFrame = Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false })
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
/** A StreamsChannel broadcast: `{identifier, message: {action, stream}}`. */
export const StreamsChannelMessage = Type.Object({
  identifier: Type.String(),
  message: Type.Object({
    action: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('archived')]),
    stream: Type.Record(Type.String(), Type.Unknown()),
  }),
})

// Internal bus channels of the foundation.
export const CampaignChangedMessage = Type.Object({ slug: Type.String() })
export const RealtimeBusMessage = Type.Object({
  audience: Type.Record(Type.String(), Type.Unknown()),
  frame: Type.Object({ type: Type.String() }, { additionalProperties: true }),
})
