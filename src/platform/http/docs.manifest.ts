import type { ModuleManifest } from '../module.js'

/** The OpenAPI document and Swagger UI (`@fastify/swagger`, `@fastify/swagger-ui` in app.ts). */
export const docsManifest: ModuleManifest = {
  name: 'docs',
  version: '1.0.0',
  description: "The REST API's OpenAPI document, generated from the routes' schemas, and Swagger UI",
  capabilities: ['docs.openapi', 'docs.ui'],
  dependencies: [],
  endpoints: [
    { method: 'GET', path: '/docs', auth: 'public', summary: 'Swagger UI' },
    { method: 'GET', path: '/docs/static/index.html', auth: 'public', summary: 'Swagger UI page' },
    {
      method: 'GET',
      path: '/docs/static/swagger-initializer.js',
      auth: 'public',
      summary: 'Swagger UI start-up script',
    },
    { method: 'GET', path: '/docs/static/*', auth: 'public', summary: 'Swagger UI assets' },
    { method: 'GET', path: '/docs/json', auth: 'public', summary: 'OpenAPI document (JSON)' },
    { method: 'GET', path: '/docs/yaml', auth: 'public', summary: 'OpenAPI document (YAML)' },
    { method: 'GET', path: '/docs/openapi.json', auth: 'public', summary: 'OpenAPI document (JSON)' },
  ],
  actions: [],
  events: [],
  tables: [],
  features: [],
}
