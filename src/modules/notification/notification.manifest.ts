import { Type } from 'typebox'
import type { ModuleManifest } from '../../platform/module.js'
// The lead events' data is the quote module's: the same objects the admins' campaign_event carries.
import { LeadCreatedEvent, LeadErasedEvent, LeadUpdatedEvent } from '../quote/quote.schema.js'
import { WebhookTestBody, webhookBody } from './webhook.schema.js'
import { WORKER_CHANNEL } from './worker-channel.js'

const WorkerNotice = Type.Union([
  Type.Object({ subjects: Type.Array(Type.String()) }),
  Type.Object({ endpoints: Type.Array(Type.String()) }),
])

const base = '/api/campaign/:slug/webhooks'

export const notificationManifest: ModuleManifest = {
  name: 'notification',
  version: '1.0.0',
  description:
    'CRM webhooks: per-campaign endpoints, transactional outbox, signed (Standard Webhooks) delivery with retries, circuit breaker and replay',
  capabilities: [
    'webhooks.register',
    'webhooks.outbox',
    'webhooks.delivery',
    'webhooks.replay',
    'webhooks.signing',
  ],
  dependencies: ['campaign', 'auth', 'database', 'webhooks'],
  endpoints: [
    { method: 'POST', path: base, auth: 'admin', summary: 'Register a CRM endpoint' },
    { method: 'GET', path: base, auth: 'admin', summary: 'List endpoints' },
    {
      method: 'PATCH',
      path: `${base}/:id`,
      auth: 'admin',
      summary: 'Change the URL, events or description',
    },
    { method: 'DELETE', path: `${base}/:id`, auth: 'admin', summary: 'Delete an endpoint' },
    { method: 'POST', path: `${base}/:id/rotate`, auth: 'admin', summary: 'Rotate the signing secret' },
    { method: 'POST', path: `${base}/:id/enable`, auth: 'admin', summary: 'Re-enable an endpoint' },
    {
      method: 'DELETE',
      path: `${base}/:id/secrets/previous`,
      auth: 'admin',
      summary: 'End the grace period of every rotated-out secret',
    },
    { method: 'GET', path: `${base}/:id/deliveries`, auth: 'admin', summary: 'Delivery log' },
    { method: 'GET', path: `${base}/:id/messages`, auth: 'admin', summary: 'Messages and their state' },
    {
      method: 'POST',
      path: `${base}/:id/messages/:messageId/replay`,
      auth: 'admin',
      summary: 'Replay a message',
    },
    {
      method: 'POST',
      path: `${base}/:id/recover`,
      auth: 'admin',
      summary: 'Send again every message since a time that did not get through',
    },
    { method: 'POST', path: `${base}/:id/test`, auth: 'admin', summary: 'Send a test event' },
  ],
  actions: [],
  events: [
    {
      name: 'lead.created',
      channel: 'webhook',
      direction: 'emits',
      description: 'A new lead, to CRMs',
      schema: webhookBody('lead.created', LeadCreatedEvent),
    },
    {
      name: 'lead.updated',
      channel: 'webhook',
      direction: 'emits',
      description: 'A lead changed, to CRMs',
      schema: webhookBody('lead.updated', LeadUpdatedEvent),
    },
    {
      name: 'lead.erased',
      channel: 'webhook',
      direction: 'emits',
      description: 'A lead was erased: the CRM erases its copy (no personal field is sent)',
      schema: webhookBody('lead.erased', LeadErasedEvent),
    },
    {
      name: 'webhook.test',
      channel: 'webhook',
      direction: 'emits',
      description: 'A test delivery',
      schema: WebhookTestBody,
    },
    {
      name: WORKER_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description: 'A person was erased or an endpoint changed: every node drops or requeues what it holds',
      schema: WorkerNotice,
    },
    {
      name: WORKER_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: "Each node's delivery worker forgets the subjects or requeues the endpoints",
    },
  ],
  tables: ['service_notification_webhook', 'service_notification_outbox', 'service_notification_delivery'],
  features: [],
}
