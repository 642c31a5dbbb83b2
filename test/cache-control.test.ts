import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, guestToken, suiteApp } from './helper.js'

/**
 * What a browser or CDN may keep: only what a route says it may (pages, assets, media files).
 * Every other answer, error or not, carries `Cache-Control: no-store`.
 */
describe('Cache-Control', () => {
  const suite = suiteApp()

  it('is no-store on API answers, errors, unknown routes, health and metrics', async () => {
    const { app } = suite
    const slug = await createCampaign(app)
    const { token } = await guestToken(app)
    const bearer = { authorization: `Bearer ${token}` }
    const answers = [
      await app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: bearer }),
      await app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      await app.inject({ method: 'GET', url: '/api/campaign/no-such-campaign', headers: bearer }),
      await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { ...bearer, 'content-type': 'application/json' },
        payload: '{',
      }),
      await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer,
        payload: { type: 'no.such.action', payload: {} },
      }),
      await app.inject({ method: 'GET', url: '/api/nothing-here' }),
      await app.inject({ method: 'GET', url: '/no/such/page.txt' }),
      await app.inject({ method: 'GET', url: '/health' }),
      await app.inject({ method: 'GET', url: '/metrics' }),
    ]
    for (const res of answers) {
      assert.equal(res.headers['cache-control'], 'no-store', `${res.statusCode} ${res.body.slice(0, 120)}`)
    }
    assert.deepEqual(
      answers.map((res) => res.statusCode),
      [200, 200, 404, 400, 400, 404, 404, 200, 200],
    )
  })

  it('leaves a route its own policy', async () => {
    const page = await suite.app.inject({ method: 'GET', url: '/' })
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['cache-control'], 'no-cache')
  })
})
