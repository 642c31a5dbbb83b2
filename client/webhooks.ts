import type * as C from './contracts.js'
import type { HttpCore } from './http.js'

const enc = encodeURIComponent

/**
 * A campaign's webhook endpoints (admin): `/api/campaign/{slug}/webhooks`, their secrets, their
 * delivery log and their messages, sent again one by one or all since a time.
 */
export function webhookCalls(http: Pick<HttpCore, 'request'>) {
  const req = http.request.bind(http)
  return {
    list: (slug: string) => req<{ webhooks: C.Webhook[] }>('GET', `/api/campaign/${enc(slug)}/webhooks`),
    /** The signing secret is in this answer only: store it in the CRM. */
    create: (slug: string, body: C.WebhookInput) =>
      req<C.CreatedWebhook>('POST', `/api/campaign/${enc(slug)}/webhooks`, { body }),
    /** Change the URL, events or description; the secret and the delivery log stay. */
    update: (slug: string, id: string, body: C.WebhookUpdate) =>
      req<C.Webhook>('PATCH', `/api/campaign/${enc(slug)}/webhooks/${enc(id)}`, { body }),
    /**
     * A new signing secret (in this answer only); the old one keeps signing beside it for
     * `graceSeconds` (server default 24 h, 0 stops it at once).
     */
    rotate: (slug: string, id: string, graceSeconds?: number) =>
      req<C.CreatedWebhook>(
        'POST',
        `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/rotate${
          graceSeconds === undefined ? '' : `?grace_seconds=${graceSeconds}`
        }`,
      ),
    /**
     * End every rotated-out secret's grace period now (the CRM has switched over, or an old
     * secret leaked): only the current secret signs from then on. Idempotent.
     */
    endPreviousSecrets: (slug: string, id: string) =>
      req<C.Webhook>('DELETE', `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/secrets/previous`),
    /** Turn an endpoint disabled by a 410 back on and close its circuit breaker. */
    enable: (slug: string, id: string) =>
      req<C.Webhook>('POST', `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/enable`),
    remove: (slug: string, id: string) =>
      req<unknown>('DELETE', `/api/campaign/${enc(slug)}/webhooks/${enc(id)}`),
    test: (slug: string, id: string) =>
      req<{ status: 'queued'; message_id: string }>(
        'POST',
        `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/test`,
      ),
    /**
     * Every attempt, newest first: `limit` per page (server default 100, at most 500), `before`
     * the last `id` of the previous page.
     */
    deliveries: (slug: string, id: string, q: { limit?: number; before?: number } = {}) =>
      req<{ deliveries: C.WebhookDelivery[] }>(
        'GET',
        `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/deliveries`,
        { query: q },
      ),
    /** Newest first; `before`: the last `message_id` of the previous page. */
    messages: (slug: string, id: string, q: { limit?: number; before?: string; status?: string } = {}) =>
      req<{ messages: C.WebhookMessage[] }>(
        'GET',
        `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/messages`,
        { query: q },
      ),
    /** Send a message again (same webhook-id, fresh signature). */
    replay: (slug: string, id: string, messageId: string) =>
      req<{ status: 'queued' }>(
        'POST',
        `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/messages/${enc(messageId)}/replay`,
      ),
    /**
     * Send again every message created since `since` that did not get through (failed, or
     * recorded while the endpoint was disabled); the endpoint must be enabled.
     */
    recover: (slug: string, id: string, since: Date | string) =>
      req<{ recovered: number }>('POST', `/api/campaign/${enc(slug)}/webhooks/${enc(id)}/recover`, {
        body: { since: since instanceof Date ? since.toISOString() : since },
      }),
  }
}
