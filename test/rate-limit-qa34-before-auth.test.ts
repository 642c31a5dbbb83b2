// The rate limits count a request before the route checks its caller. @fastify/rate-limit adds
// its hook after a route's own `onRequest` hooks, where the admin routes check the credential and
// role: a refused attempt (401, 403) ended there, counted by no limit, so a client could guess at
// credentials on an admin route without ever being held back. Now the refused attempts count
// toward the route's limit (30 key creations a minute) and the global one alike, and a client
// over the limit is 429 whatever credential it then shows; another network is not held back.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { ADMIN_KEY, DIALECTS, json, suiteApp, userToken } from './helper.js'

/** A client network of its own (a /64 of the documentation range), so no other test's count is ours. */
const network = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::9`

function createKey(app: FastifyInstance, ip: string, auth: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/api/apikeys',
    headers: { ...auth, 'x-forwarded-for': ip },
    payload: { name: 'guess', role: 'editor' },
  })
}

function assertLimited(res: Awaited<ReturnType<FastifyInstance['inject']>>) {
  assert.equal(res.statusCode, 429, res.body)
  assert.equal(json(res).error.code, 'RATE_LIMITED')
  assert.ok(Number(res.headers['retry-after']) >= 1, `Retry-After ${res.headers['retry-after']}`)
}

for (const dialect of DIALECTS) {
  describe(`rate limits count refused attempts (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('30 creations a minute on POST /api/apikeys: wrong keys count, then the admin key is 429 too', async () => {
      const ip = network()
      for (let i = 0; i < 30; i++) {
        const res = await createKey(suite.app, ip, { 'x-api-key': `ovs_wrong_${i}` })
        assert.equal(res.statusCode, 401, `attempt ${i + 1}: ${res.body}`)
      }
      assertLimited(await createKey(suite.app, ip, { 'x-api-key': `ovs_wrong_31` }))
      assertLimited(await createKey(suite.app, ip, { 'x-api-key': ADMIN_KEY }))
      const names = (await suite.app.platform.apiKeys.list()).map((k) => k.name)
      assert.ok(!names.includes('guess'), 'nothing was made')

      const elsewhere = await createKey(suite.app, network(), { 'x-api-key': ADMIN_KEY })
      assert.equal(elsewhere.statusCode, 201, `another network is not held back: ${elsewhere.body}`)
    })

    it('a participant refused (403) 30 times is then 429', async () => {
      const ip = network()
      const token = await userToken(suite.app, `usr_qa34_${randomBytes(4).toString('hex')}`)
      for (let i = 0; i < 30; i++) {
        const res = await createKey(suite.app, ip, { authorization: `Bearer ${token}` })
        assert.equal(res.statusCode, 403, `attempt ${i + 1}: ${res.body}`)
      }
      assertLimited(await createKey(suite.app, ip, { authorization: `Bearer ${token}` }))
    })
  })

  describe(`the global limit counts refused attempts at admin routes (${dialect})`, () => {
    const suite = suiteApp({ dialect, env: { RATE_LIMIT_PER_MINUTE: '5' } })

    it('five unauthenticated GET /api/users, then 429 with the admin key as well', async () => {
      const ip = network()
      const people = (auth: Record<string, string>) =>
        suite.app.inject({ method: 'GET', url: '/api/users', headers: { ...auth, 'x-forwarded-for': ip } })
      for (let i = 0; i < 5; i++) {
        const res = await people({ 'x-api-key': `ovs_wrong_${i}` })
        assert.equal(res.statusCode, 401, `attempt ${i + 1}: ${res.body}`)
      }
      assertLimited(await people({}))
      assertLimited(await people({ 'x-api-key': ADMIN_KEY }))
    })
  })
}
