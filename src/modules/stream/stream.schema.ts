import { Type, type Static } from 'typebox'
import { PLATFORMS } from './stream.links.js'

export const STATUSES = ['live', 'offline', 'unknown'] as const
export const KINDS = ['video', 'web', 'overlay', 'background'] as const
export const ORIENTATIONS = ['vertical', 'horizontal'] as const
export const ACCOUNT_ROLES = ['default', 'editor', 'admin'] as const
export const LIVE_STATUSES = ['starting', 'live', 'paused', 'ended'] as const

export type StreamStatus = (typeof STATUSES)[number]
export type AccountRole = (typeof ACCOUNT_ROLES)[number]
export type LiveStatus = (typeof LIVE_STATUSES)[number]

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const Time = Type.String({ format: 'date-time' })

/** A StreamSource account as the API shows it (never the password hash). */
export const AccountJson = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: Type.Enum(ACCOUNT_ROLES),
  is_service_account: Type.Boolean(),
  created_at: Time,
  updated_at: Time,
})
export type AccountJson = Static<typeof AccountJson>

/** A stream in StreamSource shape; `campaign` is set on campaign live streams only. */
export const StreamJson = Type.Object({
  id: Type.Integer(),
  source: Nullable(Type.String()),
  link: Type.String(),
  url: Type.String({ description: 'Same as link (older clients read `url`)' }),
  status: Type.Enum(STATUSES),
  is_pinned: Type.Boolean(),
  is_archived: Type.Boolean(),
  created_at: Time,
  updated_at: Time,
  city: Nullable(Type.String()),
  state: Nullable(Type.String()),
  platform: Type.Enum(PLATFORMS),
  notes: Nullable(Type.String()),
  title: Nullable(Type.String()),
  last_checked_at: Nullable(Time),
  last_live_at: Nullable(Time),
  posted_by: Nullable(Type.String()),
  orientation: Nullable(Type.String()),
  kind: Type.Enum(KINDS),
  user_id: Nullable(Type.Integer()),
  user: Nullable(AccountJson),
  campaign: Nullable(
    Type.Object({
      slug: Type.String(),
      live_status: Type.Enum(LIVE_STATUSES),
    }),
  ),
})
export type StreamJson = Static<typeof StreamJson>

/** StreamSource's error body: `{error: "…"}` (plus `details` per field on 422). */
export const V1Error = Type.Object({
  error: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
  maintenance: Type.Optional(Type.Boolean()),
})

/** Stream fields a client may write; unknown fields are ignored like StreamSource does. */
export const StreamWritable = {
  link: Type.Optional(Type.String({ maxLength: 2048 })),
  url: Type.Optional(Type.String({ maxLength: 2048, description: 'Alias of link' })),
  source: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  status: Type.Optional(Type.String({ maxLength: 32 })),
  is_pinned: Type.Optional(Type.Boolean()),
  is_archived: Type.Optional(Type.Boolean()),
  city: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  state: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  platform: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  notes: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
  title: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  posted_by: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  orientation: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  kind: Type.Optional(Type.String({ maxLength: 32 })),
  last_checked_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  last_checked: Type.Optional(
    Nullable(Type.String({ maxLength: 64, description: 'Alias of last_checked_at' })),
  ),
  last_live_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
}
export const StreamInput = Type.Object(StreamWritable)
export type StreamInput = Static<typeof StreamInput>

/** `POST /streams` accepts the fields at top level or nested under `stream` (Rails params). */
export const StreamBody = Type.Object({ ...StreamWritable, stream: Type.Optional(StreamInput) })

/**
 * A campaign stream as visitors read it (`GET /api/campaign/{slug}/streams/live`): what its
 * `stream_event` frames tell them and whether it is the reader's own, never who owns it, its
 * ingest key or URLs.
 */
export const VisitorLiveStream = Type.Object({
  stream_id: Type.Integer(),
  title: Type.String(),
  status: Type.Union([Type.Literal('starting'), Type.Literal('live'), Type.Literal('paused')]),
  /** When it last went live (the latest `live` status frame); null while still starting. */
  started_at: Nullable(Time),
  /** Where viewers watch it, as its status frames tell (the playback template never names the key). */
  playback_url: Type.String(),
  /** The latest viewer count, for live streams only (as the `viewers` frames). */
  viewers: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The reader started it (so may take it live, pause and end it): a page shows its controls. */
  mine: Type.Boolean(),
})
export type VisitorLiveStream = Static<typeof VisitorLiveStream>
export const VisitorLiveStreams = Type.Object({ streams: Type.Array(VisitorLiveStream) })

/**
 * A stream's new publishing key (`POST /api/campaign/{slug}/streams/{id}/reset-key`, the result of
 * `stream.reset_key`): the ingest URL holds it, in this answer only.
 */
export const StreamKeyReset = Type.Object({
  stream_id: Type.Integer(),
  status: Type.Union([Type.Literal('starting'), Type.Literal('live'), Type.Literal('paused')]),
  ingest_url: Type.String(),
  playback_url: Type.String(),
})

/**
 * `POST /api/campaign/{slug}/streams` (`stream.start` without `stream_id`): a new stream, starting;
 * the ingest URL holds its publishing key, in this answer only.
 */
export const StreamCreated = Type.Object({
  stream_id: Type.Integer(),
  status: Type.Literal('starting'),
  ingest_url: Type.String(),
  playback_url: Type.String(),
})
/** A lifecycle step's answer (`…/start`, `…/pause`, `…/stop`): as the action's result. */
export const StreamStep = Type.Object({
  stream_id: Type.Integer(),
  status: Type.Union([Type.Literal('live'), Type.Literal('paused'), Type.Literal('ended')]),
  playback_url: Type.String(),
})
