import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { OutboxStatus } from '../../platform/db/tables.js'
import { errors, SecuredBy } from '../../platform/http/schemas.js'
import type { CampaignService } from '../campaign/campaign.service.js'
import { Slug } from '../campaign/campaign.schema.js'
import {
  CreateWebhookBody,
  DeliveryView,
  MessageView,
  UpdateWebhookBody,
  WebhookView,
  WebhookWithSecret,
} from './webhook.schema.js'
import type { WebhookService } from './webhook.service.js'

export interface WebhookRoutesOptions {
  webhooks: WebhookService
  campaigns: Pick<CampaignService, 'get'>
}

const Params = Type.Object({ slug: Slug })
const IdParams = Type.Object({ slug: Slug, id: Type.String({ pattern: '^wh_[0-9A-Z]{26}$' }) })
const MessageParams = Type.Object({
  slug: Slug,
  id: Type.String({ pattern: '^wh_[0-9A-Z]{26}$' }),
  messageId: Type.String({ pattern: '^msg_[0-9A-Z]{26}$' }),
})

/** CRM webhook endpoints per campaign: admin only, since they send lead data off the server. */
export const webhookRoutes: FastifyPluginAsync<WebhookRoutesOptions> = async (
  app,
  { webhooks, campaigns },
) => {
  const tags = ['webhooks']
  const admin = app.requireRole('admin')
  const base = '/api/campaign/:slug/webhooks'
  const ids = (request: { params: unknown }) =>
    request.params as { slug: string; id: string; messageId: string }

  app.post(
    base,
    {
      onRequest: admin,
      schema: {
        operationId: 'createWebhook',
        tags,
        security: SecuredBy,
        description:
          'Register a CRM endpoint. The `whsec_` secret is returned here and on rotation only. A ' +
          'campaign has at most `WEBHOOK_MAX_PER_CAMPAIGN` endpoints (default 20): past it, 409 ' +
          '`WEBHOOK_LIMIT_REACHED` (`details.limit`).',
        params: Params,
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { slug } = ids(request)
      await campaigns.get(slug)
      const created = await webhooks.register(slug, request.body as any, request.principal!.user_id)
      return reply.status(201).send(created)
    },
  )

  app.get(
    base,
    {
      onRequest: admin,
      schema: {
        operationId: 'listWebhooks',
        tags,
        security: SecuredBy,
        params: Params,
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookView) }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug } = ids(request)
      await campaigns.get(slug)
      return { webhooks: await webhooks.list(slug) }
    },
  )

  app.delete(
    `${base}/:id`,
    {
      onRequest: admin,
      schema: {
        operationId: 'deleteWebhook',
        tags,
        security: SecuredBy,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { slug, id } = ids(request)
      await webhooks.remove(slug, id)
      return reply.status(204).send()
    },
  )

  app.patch(
    `${base}/:id`,
    {
      onRequest: admin,
      schema: {
        operationId: 'updateWebhook',
        tags,
        security: SecuredBy,
        description:
          'Change the URL, the events or the description. The secret, the circuit and the delivery ' +
          'log stay; queued messages go to the new URL; a new event list applies to later events.',
        params: IdParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookView, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      return webhooks.update(slug, id, request.body as UpdateWebhookBody)
    },
  )

  app.post(
    `${base}/:id/rotate`,
    {
      onRequest: admin,
      schema: {
        operationId: 'rotateWebhookSecret',
        tags,
        security: SecuredBy,
        description:
          'Replace the signing secret. The one replaced keeps signing beside it (another `v1,` ' +
          'signature in `webhook-signature`) for `grace_seconds` (default 86400); secrets rotated out ' +
          'before it keep signing until their own grace periods end, at most three previous secrets ' +
          'in all (the oldest stops first). 0 stops every previous secret at once.',
        params: IdParams,
        querystring: Type.Object(
          { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 60 * 60 })) },
          { additionalProperties: false },
        ),
        response: { 200: WebhookWithSecret, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      const { grace_seconds } = request.query as { grace_seconds?: number }
      return webhooks.rotate(slug, id, grace_seconds)
    },
  )

  app.delete(
    `${base}/:id/secrets/previous`,
    {
      onRequest: admin,
      schema: {
        operationId: 'endWebhookSecretGrace',
        tags,
        security: SecuredBy,
        description:
          'End the grace period of every rotated-out secret now: only the current secret signs from ' +
          'then on, messages already queued included. Idempotent; the current secret is not changed.',
        params: IdParams,
        response: { 200: WebhookView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      return webhooks.endPreviousSecrets(slug, id)
    },
  )

  app.post(
    `${base}/:id/enable`,
    {
      onRequest: admin,
      schema: {
        operationId: 'enableWebhook',
        tags,
        security: SecuredBy,
        description:
          'Re-enable an endpoint disabled (by a 410, or on upgrade) and close its circuit breaker; ' +
          'its waiting messages, retries backing off included, are sent at once.',
        params: IdParams,
        response: { 200: WebhookView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      return webhooks.enable(slug, id)
    },
  )

  app.get(
    `${base}/:id/deliveries`,
    {
      onRequest: admin,
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        security: SecuredBy,
        description: 'Every attempt, newest first; page with `before` (the last id you saw).',
        params: IdParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          // Ids are bigints; past this a number is no id (and no longer exact), so bad input.
          before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
        }),
        response: {
          200: Type.Object({ deliveries: Type.Array(DeliveryView) }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      const q = request.query as { limit: number; before?: number }
      return { deliveries: await webhooks.deliveries(slug, id, { limit: q.limit, before: q.before }) }
    },
  )

  app.get(
    `${base}/:id/messages`,
    {
      onRequest: admin,
      schema: {
        operationId: 'listWebhookMessages',
        tags,
        security: SecuredBy,
        description:
          'Messages to this endpoint, newest first; page with `before` (the last message_id you saw), ' +
          'pick a `status` (e.g. `failed`, to replay them).',
        params: IdParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          before: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          status: Type.Optional(
            Type.Union(
              ['pending', 'sending', 'delivered', 'failed', 'cancelled'].map((s) => Type.Literal(s)),
            ),
          ),
        }),
        response: { 200: Type.Object({ messages: Type.Array(MessageView) }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { slug, id } = ids(request)
      const q = request.query as { limit: number; before?: string; status?: OutboxStatus }
      return { messages: await webhooks.messages(slug, id, q) }
    },
  )

  app.post(
    `${base}/:id/messages/:messageId/replay`,
    {
      onRequest: admin,
      schema: {
        operationId: 'replayWebhookMessage',
        tags,
        security: SecuredBy,
        description:
          'Send a message again (same webhook-id and body, fresh signature and retry budget), also one ' +
          'recorded while the endpoint was disabled (cancelled). ' +
          '409 MESSAGE_ERASED when its subject was erased, 409 WEBHOOK_DISABLED while the endpoint is disabled, ' +
          '409 MESSAGE_SENDING (with Retry-After) while an attempt to send it is under way.',
        params: MessageParams,
        response: {
          202: Type.Object({ status: Type.Literal('queued') }),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { slug, id, messageId } = ids(request)
      await webhooks.replay(slug, id, messageId)
      return reply.status(202).send({ status: 'queued' })
    },
  )

  app.post(
    `${base}/:id/recover`,
    {
      onRequest: admin,
      schema: {
        operationId: 'recoverWebhookMessages',
        tags,
        security: SecuredBy,
        description:
          'Send again every message created since `since` that did not get through: failed ones, and ' +
          'those recorded (cancelled) while the endpoint was disabled. Same webhook-id and body, fresh ' +
          'signature and retry budget; messages about erased people stay. 409 WEBHOOK_DISABLED while ' +
          'the endpoint is disabled: enable it first.',
        params: IdParams,
        body: Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
        response: {
          202: Type.Object({ recovered: Type.Integer({ minimum: 0 }) }),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { slug, id } = ids(request)
      const { since } = request.body as { since: string }
      return reply.status(202).send({ recovered: await webhooks.recover(slug, id, new Date(since)) })
    },
  )

  app.post(
    `${base}/:id/test`,
    {
      onRequest: admin,
      schema: {
        operationId: 'sendWebhookTest',
        tags,
        security: SecuredBy,
        description: 'Queue a webhook.test event; 409 WEBHOOK_DISABLED while the endpoint is disabled.',
        params: IdParams,
        response: {
          202: Type.Object({ status: Type.Literal('queued'), message_id: Type.String() }),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { slug, id } = ids(request)
      return reply.status(202).send({ status: 'queued', message_id: await webhooks.sendTest(slug, id) })
    },
  )
}
