import type { ModuleManifest } from '../platform/module.js'

export const manifest: ModuleManifest = {
  name: 'web',
  version: '1.0.0',
  description: 'Serves the built campaign site (/, /c/:campaign) and the admin console (/admin)',
  capabilities: ['web.site', 'web.admin'],
  // The pages' own calls (through the client): the site and the console break with these.
  dependencies: [
    'campaign',
    'session',
    'nexus',
    'realtime',
    'user',
    'quote',
    'referral',
    'localization',
    'media',
    'stream',
    'notification',
    'amadeus',
  ],
  endpoints: [
    { method: 'GET', path: '/', auth: 'public', summary: 'Default campaign page' },
    { method: 'GET', path: '/c/:campaign', auth: 'public', summary: 'A campaign page' },
    { method: 'GET', path: '/admin', auth: 'public', summary: 'Admin console (signs in with an API key)' },
    { method: 'GET', path: '/admin/*', auth: 'public', summary: 'Admin console deep links' },
    { method: 'GET', path: '/assets/*', auth: 'public', summary: 'Built, content-hashed assets' },
    { method: 'GET', path: '/favicon.svg', auth: 'public', summary: 'The site icon' },
  ],
  actions: [],
  events: [],
  tables: [],
  features: [],
}
