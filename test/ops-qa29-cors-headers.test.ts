import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, guestToken, type TestContext } from './helper.js'

/**
 * A campaign page served from another origin (a listed `CORS_ORIGINS` entry) could not read the
 * headers the API answers with: browsers hide every response header but a handful from a
 * cross-origin script unless `Access-Control-Expose-Headers` names it. The SDK's `retryAfter`
 * was undefined on a 429, a replayed answer could not be told from a first one, an editor's
 * `If-Match` had no ETag to send. And with no `Access-Control-Max-Age`, browsers asked a
 * preflight before nearly every POST (each counted by the per-address limit).
 */
describe('CORS for a campaign page on another origin', () => {
  const origin = 'https://launch.example'
  let t: TestContext
  before(async () => {
    t = await buildTestApp({ env: { CORS_ORIGINS: origin } })
  })
  after(() => t.close())

  it('lets the page read the headers the API answers with', async () => {
    const slug = await createCampaign(t.app)
    const { token } = await guestToken(t.app)
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/${slug}/update`,
      headers: { origin, authorization: `Bearer ${token}`, 'idempotency-key': 'qa29-cors-1' },
      payload: { action: 'analytics.track', data: { name: 'page.view' } },
    })
    assert.equal(res.headers['access-control-allow-origin'], origin)
    const exposed = String(res.headers['access-control-expose-headers'] ?? '')
      .toLowerCase()
      .split(/\s*,\s*/)
    for (const name of [
      'retry-after',
      'x-request-id',
      'idempotent-replayed',
      'etag',
      'x-ratelimit-remaining',
    ])
      assert.ok(exposed.includes(name), `${name} is exposed (got ${JSON.stringify(exposed)})`)
  })

  it('lets the browser keep a preflight for a while', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/demo/update',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization, idempotency-key',
      },
    })
    assert.equal(preflight.statusCode, 204, preflight.body)
    const maxAge = Number(preflight.headers['access-control-max-age'])
    assert.ok(maxAge >= 600, `Access-Control-Max-Age ${preflight.headers['access-control-max-age']}`)
  })
})
