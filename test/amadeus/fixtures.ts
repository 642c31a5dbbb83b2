import { Type } from 'typebox'
import type { GraphSources } from '../../src/amadeus/graph.builder.js'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import type { ModuleManifest } from '../../src/platform/module.js'

/** A module as a parallel branch might declare it: realtime on Redis, enabled by `presence`. */
export const realtimeLike: ModuleManifest = {
  name: 'realtime',
  version: '1.0.0',
  description: 'fixture gateway',
  capabilities: ['realtime.presence'],
  dependencies: ['redis', 'bus', 'campaign'],
  endpoints: [{ method: 'GET', path: '/ws/:campaign/:user_id', auth: 'session' }],
  actions: [],
  events: [
    { name: 'presence_update', channel: 'ws', direction: 'emits' },
    { name: 'cursor', channel: 'ws', direction: 'consumes' },
    {
      name: 'referral.milestone',
      channel: 'ws',
      direction: 'emits',
      schema: Type.Object({ user_id: Type.String(), count: Type.Integer() }),
    },
  ],
  tables: [],
  features: ['presence'],
}

export const campaignLike: ModuleManifest = {
  name: 'campaign',
  version: '1.0.0',
  description: 'fixture campaigns',
  capabilities: [],
  dependencies: ['database', 'bus'],
  endpoints: [{ method: 'GET', path: '/api/campaign/:slug', auth: 'session' }],
  actions: [],
  events: [],
  tables: ['service_campaign_main'],
  features: [],
}

export const quoteLike: ModuleManifest = {
  name: 'quote',
  version: '1.0.0',
  description: 'fixture leads',
  capabilities: [],
  dependencies: ['database', 'webhooks'],
  endpoints: [{ method: 'POST', path: '/api/quote', auth: 'session' }],
  actions: ['quote.submit'],
  events: [],
  tables: ['service_quote_main'],
  features: ['quote'],
}

export function fixtureSources(overrides: Partial<GraphSources> = {}): GraphSources {
  return {
    modules: [campaignLike, realtimeLike, quoteLike],
    actions: [
      {
        name: 'quote.submit',
        aliases: ['submit_quote'],
        feature: 'quote',
        role: 'guest',
        description: 'Submit a lead',
        writes: 'deferred',
      },
    ],
    campaigns: [
      { slug: 'spring', features: ['presence', 'quote'] },
      { slug: 'quiet', features: ['analytics'] },
    ],
    features: FEATURES,
    platform: { dialect: 'postgres', redis: true },
    healthChecks: ['database', 'redis'],
    ...overrides,
  }
}
