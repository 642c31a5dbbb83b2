import { Type } from 'typebox'
import type { ModuleManifest } from '../module.js'
import { APIKEY_REVOKED_CHANNEL } from './apikeys.js'

/** API keys (`apikeys.ts`): made and revoked with `ovasabi apikey` or `/api/apikeys`, checked by every node. */
export const apiKeysManifest: ModuleManifest = {
  name: 'apikeys',
  version: '1.0.0',
  description:
    'Admin and editor API keys (X-API-Key), hashed at rest, optionally limited to some campaigns; a revocation reaches every node’s key cache over the bus',
  capabilities: ['apikeys.verify', 'apikeys.revoke'],
  dependencies: ['auth', 'database', 'bus'],
  endpoints: [
    { method: 'POST', path: '/api/apikeys', auth: 'admin', summary: 'Make an API key (shown once)' },
    {
      method: 'GET',
      path: '/api/apikeys',
      auth: 'admin',
      summary: 'Every API key, newest first, never the key',
    },
    {
      method: 'DELETE',
      path: '/api/apikeys/:id',
      auth: 'admin',
      summary: 'Revoke an API key on every node',
    },
  ],
  actions: [],
  events: [
    {
      name: APIKEY_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description: 'Keys were revoked (`ovasabi apikey revoke`, `DELETE /api/apikeys/{id}`)',
      schema: Type.Object({ ids: Type.Array(Type.String()) }),
    },
    {
      name: APIKEY_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: 'Each node empties its key cache, so a revoked key stops working at once',
    },
  ],
  tables: ['service_security_apikey'],
  features: [],
}
