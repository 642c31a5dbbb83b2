import { type Static, Type } from 'typebox'
import { SHOWS_SOMETHING } from '../text.js'

/** The roles a key may be made with (as `ovasabi apikey create --role`): a guest key means nothing. */
const KeyRole = Type.Union([Type.Literal('admin'), Type.Literal('editor'), Type.Literal('participant')], {
  description: 'What the key may do: `admin`, `editor` or `participant`',
})

/**
 * A key's name, as the console and `ovasabi apikey list` show it: something visible (a blank name
 * says nothing of what the key is for), on one line (a line break forges a second row of the
 * list), without control characters or bidirectional overrides (which reverse the text around them).
 */
const KEY_NAME_PATTERN = `^${SHOWS_SOMETHING}[^\\p{Cc}\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]+$`

/** A campaign's slug, as `CAMPAIGN_SLUG` in `apikeys.ts` checks it. */
const CampaignSlug = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'A campaign slug' })

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: KEY_NAME_PATTERN,
      description: 'What the key is for (1–100 characters, one line, something visible)',
      errorMessage: 'must show something, on one line, without control characters or bidirectional overrides',
    }),
    role: KeyRole,
    expires_in_seconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 10 * 365 * 24 * 3600,
        description: 'The key stops working this many seconds from now (not with `expires_at`)',
      }),
    ),
    expires_at: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the key stops working, in the future (not with `expires_in_seconds`)',
      }),
    ),
    campaigns: Type.Optional(
      Type.Array(CampaignSlug, {
        minItems: 1,
        maxItems: 50,
        description: 'The campaigns the key may act on (each must exist); absent: every campaign',
      }),
    ),
  },
  { additionalProperties: false },
)
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>

const Timestamp = Type.String({ format: 'date-time' })
const MaybeTimestamp = Type.Union([Timestamp, Type.Null()])

/** A key as an admin sees it: never the key itself, nor its hash. */
export const ApiKeySummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  campaigns: Type.Union([Type.Array(Type.String()), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
  created_at: Timestamp,
  expires_at: MaybeTimestamp,
  last_used_at: MaybeTimestamp,
  revoked_at: MaybeTimestamp,
})
export type ApiKeySummary = Static<typeof ApiKeySummary>

/** The answer to a creation: the key itself, shown this once. */
export const CreatedApiKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The key itself: shown only in this answer, only its hash is stored' }),
  name: Type.String(),
  role: Type.String(),
  campaigns: Type.Union([Type.Array(Type.String()), Type.Null()]),
  expires_at: MaybeTimestamp,
  created_at: Timestamp,
})
export type CreatedApiKey = Static<typeof CreatedApiKey>

export const ApiKeyList = Type.Object({ keys: Type.Array(ApiKeySummary) })
export type ApiKeyList = Static<typeof ApiKeyList>

export const ApiKeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

export const RevokedApiKey = Type.Object({
  id: Type.String(),
  status: Type.Literal('revoked'),
  revoked_at: Timestamp,
})
export type RevokedApiKey = Static<typeof RevokedApiKey>
