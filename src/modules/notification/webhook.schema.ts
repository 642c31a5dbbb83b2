import { type Static, type TSchema, Type } from 'typebox'

/** Events a CRM endpoint can subscribe to; `*` is every one, present and future. */
export const WEBHOOK_EVENTS = ['lead.created', 'lead.updated', 'lead.erased', '*'] as const

const Url = Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' })
const Events = Type.Array(Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e))), {
  minItems: 1,
  maxItems: 16,
  uniqueItems: true,
})
const Description = Type.String({ maxLength: 500 })

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  { additionalProperties: false },
)

export const UpdateWebhookBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description) },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>

export const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  /**
   * When the endpoint was disabled (a 410 Gone from the receiver): null while it is enabled, and
   * for endpoints disabled before this was recorded.
   */
  disabled_at: Type.Union([Type.String(), Type.Null()]),
  consecutive_failures: Type.Integer(),
  /**
   * The endpoint's circuit breaker: `closed`, messages go as they come; `open`, after failures in
   * a row (or a 429/503 `Retry-After`) nothing is sent until `circuit_open_until`; `half-open`, that
   * time passed and one waiting message goes first as a probe (or is out now, the endpoint held
   * until `circuit_open_until`), its answer closing the circuit or opening it again.
   */
  circuit: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]),
  circuit_open_until: Type.Union([Type.String(), Type.Null()]),
  /** Until when the secret before the last rotation still signs (beside the current one). */
  previous_secret_expires_at: Type.Union([Type.String(), Type.Null()]),
  /**
   * Every rotated-out secret still signing beside the current one, newest first, with the end of
   * its grace period (at most three: see docs/WEBHOOKS.md).
   */
  previous_secrets: Type.Array(Type.Object({ expires_at: Type.String() })),
  created_at: Type.String(),
})

export const WebhookWithSecret = Type.Object({
  id: Type.String(),
  /** Shown once, here and on rotation: store it in the CRM. */
  secret: Type.String(),
  webhook: WebhookView,
})

export const DeliveryView = Type.Object({
  id: Type.Integer(),
  message_id: Type.String(),
  event: Type.String(),
  attempt: Type.Integer(),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Integer(),
  message_status: Type.String(),
  created_at: Type.String(),
})

export const MessageView = Type.Object({
  message_id: Type.String(),
  event: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  next_attempt_at: Type.String(),
  last_error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  delivered_at: Type.Union([Type.String(), Type.Null()]),
})

/**
 * The body every CRM endpoint receives (`eventBody` in webhook.service.ts), signed with the
 * Standard Webhooks headers: `{type, timestamp, data}`.
 */
export function webhookBody(type: string, data: TSchema) {
  return Type.Object({
    type: Type.Literal(type),
    timestamp: Type.String({ format: 'date-time' }),
    data,
  })
}

/** `webhook.test`: what `POST …/webhooks/:id/test` queues for that one endpoint. */
export const WebhookTestBody = webhookBody(
  'webhook.test',
  Type.Object({ campaign: Type.String(), webhook_id: Type.String() }),
)
