import type { ModuleManifest } from '../platform/module.js'

export const amadeusManifest: ModuleManifest = {
  name: 'amadeus',
  version: '1.0.0',
  description:
    'The live service graph built from module manifests: impact analysis, Mermaid diagrams, versioned snapshots, validation, AsyncAPI',
  capabilities: [
    'amadeus.graph',
    'amadeus.impact',
    'amadeus.diagram',
    'amadeus.history',
    'amadeus.validate',
    'amadeus.asyncapi',
  ],
  // Reads every manifest, the action registry (nexus) and campaigns' features (campaign).
  dependencies: ['database', 'auth', 'campaign', 'nexus'],
  endpoints: [
    { method: 'GET', path: '/api/amadeus/graph', auth: 'admin', summary: 'The live service graph' },
    { method: 'GET', path: '/api/amadeus/node/:id', auth: 'admin', summary: 'A node and its neighbours' },
    { method: 'GET', path: '/api/amadeus/impact', auth: 'admin', summary: 'What relies on a node' },
    { method: 'GET', path: '/api/amadeus/diagram.mmd', auth: 'admin', summary: 'Mermaid diagram' },
    { method: 'GET', path: '/api/amadeus/history', auth: 'admin', summary: 'Snapshot versions' },
    { method: 'GET', path: '/api/amadeus/validate', auth: 'admin', summary: 'Declaration consistency' },
    { method: 'GET', path: '/api/amadeus/export', auth: 'admin', summary: 'Snapshots as JSON' },
    { method: 'POST', path: '/api/amadeus/import', auth: 'admin', summary: 'Restore snapshots' },
    { method: 'GET', path: '/docs/asyncapi.json', auth: 'public', summary: 'AsyncAPI 3 document' },
  ],
  actions: [],
  events: [],
  tables: ['service_amadeus_snapshot'],
  features: [],
}
