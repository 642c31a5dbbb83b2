import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { listenLocally, suiteApp } from './helper.js'

/** What the router refuses before any route runs is answered in the error body every route uses. */
describe('URLs the router cannot read', () => {
  const suite = suiteApp()

  it('a broken percent-encoding is 400 INVALID_URL in our error body', async () => {
    const base = await listenLocally(suite.app)
    for (const path of ['/api/user/%E0%A4%A', '/api/user/%ED%A0%80', '/api/campaign/%']) {
      const res = await fetch(`${base}${path}`, { method: path.startsWith('/api/user') ? 'DELETE' : 'GET' })
      const body = await res.json()
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(body)}`)
      assert.equal(body.status, 'error')
      assert.equal(body.error.code, 'INVALID_URL')
      assert.equal(typeof body.request_id, 'string')
      assert.equal(res.headers.get('x-request-id'), body.request_id)
      assert.equal(res.headers.get('cache-control'), 'no-store')
    }
  })
})
