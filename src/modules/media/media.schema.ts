import { Type, type Static } from 'typebox'

export const UploadPayload = Type.Object(
  {
    /** Shown in Content-Disposition only; storage keys never use it. */
    filename: Type.String({ minLength: 1, maxLength: 255 }),
    content_type: Type.String({ minLength: 3, maxLength: 127 }),
    /**
     * The file's size in bytes, when the client knows it: refused early when over the limit, only
     * it is reserved against the quotas, and a body of any other size is refused (400
     * `UPLOAD_SIZE_MISMATCH`), so a cut-off upload is never published.
     */
    size: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
)
export type UploadPayload = Static<typeof UploadPayload>

export const UploadTicket = Type.Object({
  media_id: Type.String(),
  upload_url: Type.String(),
  expires_at: Type.String(),
  max_bytes: Type.Integer(),
})
export type UploadTicket = Static<typeof UploadTicket>

export const MediaResponse = Type.Object({
  media_id: Type.String(),
  status: Type.String(),
  filename: Type.String(),
  content_type: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  url: Type.Union([Type.String(), Type.Null()]),
  thumbnail_url: Type.Union([Type.String(), Type.Null()]),
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
})
export type MediaResponse = Static<typeof MediaResponse>

export const MEDIA_STATUSES = ['pending', 'uploading', 'processing', 'ready', 'failed'] as const
export type MediaStatus = (typeof MEDIA_STATUSES)[number]

/** A media id as `media.upload` hands it out (a ULID). */
export const MediaIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' }) })

/**
 * What an uploader reads back of their own upload: what its `media_event`s tell them (status,
 * `reason` once failed, `url` and `thumbnail_url` once ready), nothing of who else sees it.
 */
export const OwnMediaView = Type.Object({
  media_id: Type.String(),
  campaign: Type.String(),
  status: Type.Unsafe<MediaStatus>(Type.Union(MEDIA_STATUSES.map((s) => Type.Literal(s)))),
  /** Why it failed (`failed` only), as the `failed` event says it. */
  reason: Type.Optional(Type.String()),
  /** The type found in its bytes, or the type it was declared with until they are read. */
  content_type: Type.String(),
  /** Bytes of the stored file (`ready` only: until then stripping its metadata may change it). */
  size: Type.Optional(Type.Integer()),
  url: Type.Optional(Type.String()),
  thumbnail_url: Type.Optional(Type.String()),
  updated_at: Type.String({ format: 'date-time' }),
})
export type OwnMediaView = Static<typeof OwnMediaView>

/** Types accepted when a campaign sets no `custom_rules.media_allowed_types`: all detectable by magic bytes. */
export const DEFAULT_ALLOWED_TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'video/mp4',
  'video/webm',
  'audio/mpeg',
  'audio/ogg',
  'application/pdf',
]

/** Images sharp reads, so they get width/height and a thumbnail. */
export const THUMBNAIL_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif'])
