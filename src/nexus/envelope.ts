import { Type, type Static } from 'typebox'

const Id = Type.String({ minLength: 1, maxLength: 128 })

/**
 * `metadata`: any keys; `versioning`, which the server fills in over the client's, an object when
 * sent. Merging another value into it spread a string or an array key by key: 200 000 characters
 * became 200 000 keys, stored with the event at ten times the body's size.
 */
const Metadata = Type.Object(
  { versioning: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: true },
)

/** The campaign_event envelope (ARCHITECTURE section 2), as a client may send it. */
export const EnvelopeInput = Type.Object(
  {
    type: Type.Literal('campaign_event'),
    campaign_id: Type.Optional(Id),
    user: Type.Optional(
      Type.Object(
        {
          user_id: Type.Optional(Id),
          session_id: Type.Optional(Id),
          roles: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
        },
        { additionalProperties: false },
      ),
    ),
    event: Type.String({ minLength: 1, maxLength: 96, pattern: '^[A-Za-z][A-Za-z0-9_.:-]*$' }),
    payload: Type.Optional(Type.Unknown()),
    metadata: Type.Optional(Metadata),
    timestamp: Type.Optional(Type.String({ format: 'date-time' })),
    request_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)

/** The seed form: `{user_id, action, data, metadata}` (request_id optional). */
export const SeedInput = Type.Object(
  {
    user_id: Type.Optional(Id),
    action: Type.String({ minLength: 1, maxLength: 96, pattern: '^[A-Za-z][A-Za-z0-9_.:-]*$' }),
    data: Type.Optional(Type.Unknown()),
    metadata: Type.Optional(Metadata),
    request_id: Type.Optional(Id),
    campaign_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)

export type EnvelopeInput = Static<typeof EnvelopeInput>
export type SeedInput = Static<typeof SeedInput>

/** The envelope after the server filled it in. */
export interface Envelope {
  type: 'campaign_event'
  campaign_id: string
  user: { user_id: string; session_id: string; roles: string[] }
  event: string
  payload: unknown
  metadata: Record<string, unknown> & {
    versioning: { system_version: string; service_version: string; environment: string }
  }
  timestamp: string
  received_at: string
  request_id: string
}
