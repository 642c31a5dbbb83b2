// The security headers every answer carries (helmet's: nosniff, frame-ancestors, the CSP, …) were
// missing from the answers the router gives itself: a URL it cannot read (400 INVALID_URL), a path
// segment over its length (414), and, on the listening server, unknown routes (404) and methods.
// An error page is a page too: without nosniff or a CSP a browser may sniff and render it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { listenLocally, suiteApp } from './helper.js'

/** Headers helmet sets (as configured in app.ts), which no answer may lack. */
const SECURITY = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'referrer-policy',
  'x-content-type-options',
  'x-frame-options',
  'strict-transport-security',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]

describe('security headers on the answers the router gives itself', () => {
  const suite = suiteApp()

  it('are those of any other answer, on a refused URL, an unknown route or method, and a long segment', async () => {
    const base = await listenLocally(suite.app)
    const normal = await fetch(`${base}/health/live`)
    assert.equal(normal.status, 200)
    const expected = Object.fromEntries(SECURITY.map((h) => [h, normal.headers.get(h)]))
    for (const h of SECURITY) assert.ok(expected[h], `${h} missing on a normal answer`)
    const cases: Array<[string, string, number]> = [
      ['GET', '/api/user/%E0%A4%A', 400],
      ['DELETE', '/api/campaign/%', 400],
      ['GET', '/no/such/route', 404],
      ['PUT', '/health/live', 404],
      ['POST', '/no/such/route?x=1', 404],
      ['GET', `/api/campaign/${'a'.repeat(1000)}`, 414],
    ]
    for (const [method, path, status] of cases) {
      const res = await fetch(`${base}${path}`, { method })
      const body = await res.json()
      assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(body)}`)
      assert.equal(body.status, 'error')
      assert.equal(res.headers.get('x-request-id'), body.request_id)
      const got = Object.fromEntries(SECURITY.map((h) => [h, res.headers.get(h)]))
      assert.deepEqual(got, expected, `${method} ${path}`)
    }
  })
})
