import type { ModuleManifest } from '../../platform/module.js'
import { LeadCreatedEvent, LeadUpdatedEvent } from './quote.schema.js'

export const quoteManifest: ModuleManifest = {
  name: 'quote',
  version: '1.0.0',
  description:
    'Leads (QuoteService): validated capture with spam defences, 24 h dedupe, lifecycle, admin list and CSV export',
  capabilities: ['quote.submit', 'quote.lifecycle', 'quote.list', 'quote.export', 'quote.erase'],
  dependencies: ['nexus', 'campaign', 'notification', 'realtime', 'database', 'ratelimit', 'localization'],
  endpoints: [
    { method: 'POST', path: '/api/quote', auth: 'session', summary: 'Submit a lead' },
    { method: 'GET', path: '/api/quote/:id', auth: 'session', summary: "Read one's own lead status" },
    { method: 'GET', path: '/api/campaign/:slug/leads', auth: 'editor', summary: 'List leads' },
    { method: 'GET', path: '/api/campaign/:slug/leads.csv', auth: 'editor', summary: 'Export leads as CSV' },
    { method: 'GET', path: '/api/campaign/:slug/leads/:id', auth: 'editor', summary: 'Read a lead' },
    { method: 'PATCH', path: '/api/campaign/:slug/leads/:id', auth: 'editor', summary: 'Change lead status' },
    { method: 'DELETE', path: '/api/campaign/:slug/leads/:id', auth: 'admin', summary: 'Erase a lead' },
  ],
  actions: ['quote.submit'],
  events: [
    {
      name: 'lead.created',
      channel: 'ws',
      direction: 'emits',
      description: 'campaign_event to admins',
      schema: LeadCreatedEvent,
    },
    {
      name: 'lead.updated',
      channel: 'ws',
      direction: 'emits',
      description: 'campaign_event to admins: resubmitted, or status changed',
      schema: LeadUpdatedEvent,
    },
    {
      name: 'notification',
      channel: 'ws',
      direction: 'emits',
      description: "quote.status to the submitter's sockets when an editor moves the lead",
    },
  ],
  // The analytics log too: erasing a lead scrubs its submissions' events.
  tables: ['service_quote_main', 'service_notification_outbox', 'service_analytics_event'],
  features: ['quote'],
}
