import { Type, type Static } from 'typebox'

const Id = Type.String({ minLength: 1, maxLength: 128 })

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
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
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
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
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
