import { Type } from 'typebox'
import type { ActionRegistry } from '../../nexus/registry.js'
import type { ModuleManifest } from '../../platform/module.js'

export const manifest: ModuleManifest = {
  name: 'analytics',
  version: '1.0.0',
  description: 'Tracks any dotted campaign event (content.create, media.play…) in the analytics log',
  capabilities: ['analytics.track', 'analytics.counters'],
  dependencies: ['nexus', 'database'],
  endpoints: [],
  actions: ['analytics.track'],
  events: [],
  tables: ['service_analytics_event', 'service_campaign_counter'],
  features: ['analytics'],
}

/**
 * Any dotted event no module registered is recorded when the campaign has `analytics`. The
 * dispatcher already appends every accepted envelope to the log, so the handler only answers.
 */
export function registerActions(registry: ActionRegistry): void {
  registry.registerFallback({
    name: 'analytics.track',
    description: 'Record a tracked event (any dotted name)',
    payload: Type.Unknown(),
    role: 'guest',
    feature: 'analytics',
    writes: 'deferred',
    handler: async (ctx) => ({
      result: { recorded: true, event: ctx.envelope.event, event_id: ctx.envelope.request_id },
    }),
  })
}
