import { Type, type Static } from 'typebox'

export const UploadPayload = Type.Object(
  {
    /** Shown in Content-Disposition only; storage keys never use it. */
    filename: Type.String({ minLength: 1, maxLength: 255 }),
    content_type: Type.String({ minLength: 3, maxLength: 127 }),
    /** Expected size in bytes, when the client knows it (refused early when over the limit). */
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
