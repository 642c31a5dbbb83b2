// Server → client frames of `/ws/{campaign}/{user_id}`, from the server's frame schemas
// (`src/amadeus/frames.schema.ts`, the ones the AsyncAPI document is built from). Where the gateway
// (`src/realtime/gateway.ts`, `room.ts`, `client-frames.ts`) sends more than the schema lists, the
// extra fields are added here, each with the line of the gateway that sends it.
import type { Static } from 'typebox'
import type {
  CampaignEventFrame as CampaignEventSchema,
  CampaignStatusEvent as CampaignStatusSchema,
  ConnectedFrame as ConnectedSchema,
  ErrorFrame as ErrorSchema,
  PresenceUpdateFrame as PresenceSchema,
  StatsUpdateFrame as StatsSchema,
  UpdateAckFrame as UpdateAckSchema,
} from '../src/amadeus/frames.schema.js'

export type CursorTuple = [id: string, x: number, y: number]

/** `gateway.ts` open(): also the socket's own `cursor_id` (never drawn), tick rate and replay point. */
export type ConnectedFrame = Omit<Static<typeof ConnectedSchema>, 'limits'> & {
  user_id: string
  /** This socket's id in `presence_update.cursors`: a client skips it (its own cursor). */
  cursor_id: string
  tick_rate: number
  max_cursors: number
  last_event_id: number | null
  expires_at: string | null
  /**
   * `opening.ts` connectedFrame(): the server's inbound token bucket (`WS_MESSAGES_PER_SECOND`,
   * refilling up to `burst`); frames over it are dropped. `max_frame_bytes`: the largest frame it
   * reads (`WS_MAX_PAYLOAD`). Absent from older servers, as `max_frame_bytes` may be.
   */
  limits?: Omit<ConnectedLimits, 'max_frame_bytes'> & Partial<Pick<ConnectedLimits, 'max_frame_bytes'>>
}

type ConnectedLimits = Static<typeof ConnectedSchema>['limits']

/** `room.ts` tick(): cursors that left or went idle, and `snapshot` after a slow socket caught up. */
export type PresenceFrame = Static<typeof PresenceSchema> & {
  left: string[]
  idle: string[]
  snapshot?: boolean
}

export type StatsFrame = Static<typeof StatsSchema> & { [key: string]: unknown }
export type UpdateAckFrame = Static<typeof UpdateAckSchema>

/** The envelope as the server filled it in; `id` is the history id `?since=` resumes from. */
export type CampaignEventFrame = Static<typeof CampaignEventSchema> & { id?: number; [key: string]: unknown }

/**
 * The payload of the `campaign_event` `campaign.status`: the campaign's status changed since the
 * socket's `connected.status` (a scheduled start passed, an edit moved the start or took the
 * campaign back to waiting, a draft was published). Sent once per change and socket, without `id`.
 */
export type CampaignStatusPayload = Static<typeof CampaignStatusSchema>

/** `media_event`, `stream_event` and `notification` are open lifecycle frames in the schema. */
export interface MediaEventFrame {
  type: 'media_event'
  media_id: string
  status: string
  progress?: number
  url?: string | null
  thumbnail_url?: string | null
  reason?: string
  [key: string]: unknown
}

export interface StreamEventFrame {
  type: 'stream_event'
  stream_id: string | number
  status?: string
  viewers?: number
  [key: string]: unknown
}

/** E.g. a lead's status change (`quote.service.ts` announce): `lead_id`, `status`, `message`. */
export interface NotificationFrame {
  type: 'notification'
  message?: string
  [key: string]: unknown
}

/**
 * `retry_after_ms`: `client-frames.ts` handle(), on a `RATE_LIMITED` error telling the first frame
 * of a flood window dropped for the socket's rate: when the server reads frames again.
 */
export type ErrorFrame = Static<typeof ErrorSchema> & { details?: unknown }

/**
 * Events were lost: after `?since=`, the history no longer reaches back to `since` or the replay is
 * too large to send; on an open socket, events overflowed its send queue (a slow link), sent once
 * the socket can take frames again. `since` is the last `campaign_event` id the socket got,
 * `latest_id` the newest one it lost: reload state, then go on from `latest_id`.
 */
export interface ResyncFrame {
  type: 'resync_required'
  since: number
  latest_id: number
}

export interface PongFrame {
  type: 'pong'
  ts?: number
  server_time: number
}

/** `client-frames.ts` auth(): the in-band token refresh was accepted. */
export interface AuthOkFrame {
  type: 'auth_ok'
  expires_at: string | null
}

export interface FrameMap {
  connected: ConnectedFrame
  presence_update: PresenceFrame
  stats_update: StatsFrame
  update_ack: UpdateAckFrame
  campaign_event: CampaignEventFrame
  media_event: MediaEventFrame
  stream_event: StreamEventFrame
  notification: NotificationFrame
  error: ErrorFrame
  resync_required: ResyncFrame
  pong: PongFrame
  auth_ok: AuthOkFrame
}

export type ServerFrame = FrameMap[keyof FrameMap]
