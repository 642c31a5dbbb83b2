import type { ModuleManifest } from '../platform/module.js'

export { createCommitLog } from './commit-log.js'
export { createDispatcher, type Dispatcher } from './dispatcher.js'
export { forgetResponses } from './idempotency.js'
export { ActionRegistry } from './registry.js'
export { nexusRoutes as routes } from './routes.js'

export const manifest: ModuleManifest = {
  name: 'nexus',
  version: '1.0.0',
  description:
    'Action registry and dispatcher behind the single action endpoint, with idempotency and group commit',
  capabilities: ['nexus.dispatch', 'nexus.idempotency', 'nexus.group_commit'],
  dependencies: ['campaign', 'auth', 'database', 'realtime'],
  endpoints: [
    { method: 'POST', path: '/api/:campaign/update', auth: 'session', summary: 'The single action endpoint' },
  ],
  actions: [],
  events: [
    { name: 'update_ack', channel: 'ws', direction: 'emits', description: "Result of the user's own action" },
  ],
  tables: [
    'service_nexus_request',
    'service_analytics_event',
    'service_campaign_counter',
    'service_campaign_session',
  ],
  features: [],
}
