import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Fastify from 'fastify'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { collectServedRoutes } from '../../src/amadeus/served-routes.js'
import { validateDeclarations } from '../../src/amadeus/validate.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import type { ModuleManifest } from '../../src/platform/module.js'

/** One module declaring the four kinds of route this check tells apart. */
const declaring: ModuleManifest = {
  name: 'sample',
  version: '1.0.0',
  description: 'fixture',
  capabilities: [],
  dependencies: [],
  endpoints: [
    { method: 'POST', path: '/api/open', auth: 'public' },
    { method: 'POST', path: '/api/guarded', auth: 'admin' },
    { method: 'POST', path: '/api/said-public', auth: 'public' },
    { method: 'POST', path: '/api/said-guarded', auth: 'editor' },
    { method: 'GET', path: '/api/no-schema', auth: 'admin' },
  ],
  actions: [],
  events: [],
  tables: [],
  features: [],
}

const validate = (servedRoutes: Parameters<typeof validateDeclarations>[0]['servedRoutes']) =>
  validateDeclarations({
    modules: [declaring],
    actions: [],
    features: FEATURES,
    eventSchemas: createEventSchemaRegistry(),
    tables: new Set(),
    servedRoutes,
  })

describe("amadeus validation: a route's declared auth agrees with its schema's security", () => {
  it('reports a public route whose schema asks for a credential, and a guarded one whose schema asks for none', () => {
    const problems = validate([
      { method: 'POST', url: '/api/open', secured: false },
      { method: 'POST', url: '/api/guarded', secured: true },
      { method: 'POST', url: '/api/said-public', secured: true },
      { method: 'POST', url: '/api/said-guarded', secured: false },
      { method: 'GET', url: '/api/no-schema' },
    ])
    assert.deepEqual(
      problems.map((p) => [p.code, p.subject]),
      [
        ['AUTH_MISMATCH', 'endpoint:POST /api/said-public'],
        ['AUTH_MISMATCH', 'endpoint:POST /api/said-guarded'],
      ],
    )
    assert.match(problems[0]!.message, /declared public, but its schema asks for a credential/)
    assert.match(problems[1]!.message, /declared "editor", but its schema asks for no credential/)
  })

  it("reads each route's security as Fastify registers it: named, absent, or not said (no schema, hidden)", async () => {
    const app = Fastify()
    const served = collectServedRoutes(app)
    const ok = async () => ({})
    app.post('/secured', { schema: { security: [{ bearer: [] }] } }, ok)
    app.post('/open', { schema: { body: { type: 'object' } } }, ok)
    app.post('/empty-security', { schema: { security: [] } }, ok)
    app.post('/no-schema', ok)
    app.post('/hidden', { schema: { hide: true, security: [{ bearer: [] }] } as never }, ok)
    await app.ready()
    assert.deepEqual(
      served.map((r) => [r.url, r.secured]),
      [
        ['/secured', true],
        ['/open', false],
        ['/empty-security', false],
        ['/no-schema', undefined],
        ['/hidden', undefined],
      ],
    )
    await app.close()
  })
})

describe('amadeus on the real app: the graph says which routes are public as the OpenAPI document does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kgauth-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('StreamSource login and signup are public in the graph, its other /api/v1 routes are not, and every documented route agrees', async () => {
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' })
    const app = await buildApp(config, { memoryDatabase: true, logger: false })
    try {
      await app.ready()
      assert.deepEqual(await app.amadeus.validate(), [])
      const nodes = new Map((await app.amadeus.graph()).nodes.map((n) => [n.id, n]))
      const authOf = (id: string) => (nodes.get(id)?.data as { auth?: string } | undefined)?.auth
      for (const path of ['/login', '/signup', '/users/login', '/users/signup'])
        assert.equal(authOf(`endpoint:POST /api/v1${path}`), 'public', path)
      assert.equal(authOf('endpoint:GET /api/v1/streams'), 'streamsource')
      assert.equal(authOf('endpoint:DELETE /api/v1/logout'), 'streamsource')
      // The same, read from the other side: every operation of the OpenAPI document.
      const doc = app.swagger() as { paths: Record<string, Record<string, { security?: unknown[] }>> }
      let compared = 0
      for (const [path, item] of Object.entries(doc.paths))
        for (const [method, op] of Object.entries(item)) {
          const auth = authOf(`endpoint:${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)
          if (auth === undefined) continue
          compared++
          assert.equal(auth === 'public', (op.security?.length ?? 0) === 0, `${method} ${path}: ${auth}`)
        }
      assert.ok(compared > 80, `compared ${compared} operations`)
    } finally {
      await app.close()
    }
  })
})
