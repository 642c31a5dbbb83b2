import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { json, suiteApp } from '../helper.js'

type OpenApi = { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> }

/**
 * Every /api/v1 route that checks a caller answers 503 when the accounts could not be read to
 * check it (`v1.plugin.ts`); the OpenAPI document listed only the 401, so generated clients had
 * no case for the answer to retry.
 */
describe('StreamSource routes in the OpenAPI document', () => {
  const suite = suiteApp({ dialect: 'pglite' })

  it('list 503 wherever they list 401', async () => {
    const doc = json<OpenApi>(await suite.app.inject({ method: 'GET', url: '/docs/openapi.json' }))
    const missing: string[] = []
    let checked = 0
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/v1/')) continue
      for (const [method, op] of Object.entries(operations)) {
        if (!op.responses?.['401']) continue
        checked++
        if (!op.responses['503']) missing.push(`${method.toUpperCase()} ${path}`)
      }
    }
    assert.ok(checked >= 20, `only ${checked} operations list 401`)
    assert.deepEqual(missing, [])
  })
})
