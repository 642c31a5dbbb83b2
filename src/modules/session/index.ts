import type { ModuleManifest } from '../../platform/module.js'

export { sessionRoutes as routes } from './session.routes.js'

export const manifest: ModuleManifest = {
  name: 'session',
  version: '1.0.0',
  description: 'Guest sessions: signed JWTs (HS256 pinned) for visitors',
  capabilities: ['session.guest'],
  dependencies: ['auth'],
  endpoints: [{ method: 'POST', path: '/api/session', auth: 'public', summary: 'Guest session token' }],
  actions: [],
  events: [],
  tables: [],
  features: [],
}
