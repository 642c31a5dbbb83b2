import type { ModuleManifest } from '../../platform/module.js'

export const campaignManifest: ModuleManifest = {
  name: 'campaign',
  version: '1.0.0',
  description:
    'Campaigns as configuration: metadata (features, scheduling, rules), status, audit trail, counters',
  capabilities: ['campaign.crud', 'campaign.status', 'campaign.audit', 'campaign.stats'],
  dependencies: ['database', 'bus'],
  endpoints: [
    { method: 'POST', path: '/api/campaign', auth: 'editor', summary: 'Create a campaign' },
    { method: 'GET', path: '/api/campaign', auth: 'editor', summary: 'List campaigns' },
    { method: 'GET', path: '/api/campaign/:slug', auth: 'session', summary: 'Read a campaign' },
    { method: 'PATCH', path: '/api/campaign/:slug', auth: 'editor', summary: 'Change a campaign' },
    { method: 'DELETE', path: '/api/campaign/:slug', auth: 'admin', summary: 'Archive a campaign' },
    {
      method: 'POST',
      path: '/api/campaign/:slug/unarchive',
      auth: 'admin',
      summary: 'Take an archived campaign back',
    },
    { method: 'GET', path: '/api/campaign/:slug/stats', auth: 'editor', summary: 'Counters' },
    { method: 'GET', path: '/api/campaign/:slug/audit', auth: 'editor', summary: 'Audit trail' },
  ],
  actions: [],
  events: [
    {
      name: 'ovasabi:campaign:changed',
      channel: 'bus',
      direction: 'emits',
      description: 'A campaign changed',
    },
    {
      name: 'ovasabi:campaign:changed',
      channel: 'bus',
      direction: 'consumes',
      description: 'Every node drops its cached copy and tells its listeners (the gateway)',
    },
  ],
  tables: [
    'service_campaign_main',
    'service_campaign_audit',
    'service_campaign_counter',
    'service_campaign_session',
  ],
  features: [],
}
