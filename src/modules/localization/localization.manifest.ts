import type { ModuleManifest } from '../../platform/module.js'

export const localizationManifest: ModuleManifest = {
  name: 'localization',
  version: '1.0.0',
  description:
    'Live translation of UI strings with context: campaign catalogs, a shared cache, and LibreTranslate behind ' +
    'micro-batching, single flight, retries and a circuit breaker',
  capabilities: ['localization.translate', 'localization.catalog', 'localization.languages'],
  dependencies: ['campaign', 'nexus', 'auth', 'database', 'translation'],
  endpoints: [
    { method: 'POST', path: '/api/translate', auth: 'session', summary: 'Translate strings with context' },
    { method: 'GET', path: '/api/translate/languages', auth: 'public', summary: 'Available languages' },
    { method: 'PUT', path: '/api/campaign/:slug/catalog', auth: 'editor', summary: 'Replace the catalog' },
    { method: 'GET', path: '/api/campaign/:slug/catalog', auth: 'session', summary: 'Read the catalog' },
  ],
  actions: ['localization.translate'],
  events: [],
  tables: ['service_localization_translation', 'service_localization_catalog'],
  features: ['translation'],
}
