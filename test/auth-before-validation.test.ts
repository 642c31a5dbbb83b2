import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

/**
 * Every editor or admin route checks its caller before its input: someone with no credential, or
 * with a guest's, is told 401 or 403, never 400 with the route's schema details (which would show
 * an outsider the shape of an admin API), and never a result.
 */

let networks = 0
/** A client network of its own per request, so no refusal spends another's rate budget. */
const network = () => `10.${160 + (++networks >> 8)}.${networks % 256}.9`

/**
 * Fails the routes' params: not a slug, and no id pattern matches it nor a 64-character limit
 * takes it (yet under the router's 100-character limit, so the route is still found).
 */
const BAD_SLUG = 'Not%20A%20Slug!'
const BAD_ID = 'x'.repeat(80)
/** Valid JSON, but no route's body schema takes an array of junk. */
const BAD_BODY = JSON.stringify([{ status: 42, url: 7, events: 'all', versions: 'none' }])
/** Wrong types or out of range for every querystring that declares these (and unknown elsewhere). */
const BAD_QUERY = 'limit=-1&per_page=abc&page=0&before=x&depth=99&type=nope&grace_seconds=-5&status=nope'

function malformed(app: FastifyInstance, method: string, path: string, credential: Record<string, string>) {
  const url = `${path.replace(/:slug/g, BAD_SLUG).replace(/:\w+/g, BAD_ID)}?${BAD_QUERY}`
  const withBody = method !== 'GET' && method !== 'DELETE'
  return app.inject({
    method: method as 'GET',
    url,
    headers: {
      'x-forwarded-for': network(),
      ...(withBody ? { 'content-type': 'application/json' } : {}),
      ...credential,
    },
    ...(withBody ? { payload: BAD_BODY } : {}),
  })
}

for (const dialect of DIALECTS) {
  describe(`role checks come before input validation (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('answers nobody 401 and a guest 403 on every editor and admin route, whatever the input', async () => {
      const { app } = suite
      const guest = await guestToken(app)
      const wrong: string[] = []
      let checked = 0
      for (const manifest of app.modules.list()) {
        for (const e of manifest.endpoints) {
          if (e.auth !== 'admin' && e.auth !== 'editor') continue
          checked++
          for (const [who, headers, status, code] of [
            ['nobody', {}, 401, 'UNAUTHORIZED'],
            ['a guest', { authorization: `Bearer ${guest.token}` }, 403, 'FORBIDDEN'],
          ] as const) {
            const res = await malformed(app, e.method, e.path, headers)
            const body = res.body
              ? (JSON.parse(res.body) as { error?: { code?: string; details?: unknown } })
              : {}
            if (res.statusCode !== status || body.error?.code !== code || body.error?.details !== undefined)
              wrong.push(`${e.method} ${e.path} by ${who}: ${res.statusCode} ${res.body.slice(0, 160)}`)
          }
        }
      }
      // The manifests declare the routes this walks: an empty walk would prove nothing.
      assert.ok(checked >= 30, `only ${checked} editor/admin routes declared`)
      assert.deepEqual(wrong, [])
    })

    it('still tells an admin what is wrong with the input on the routes that checked it late', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const cases: Array<[string, string, string | undefined]> = [
        ['POST', `/api/campaign/${slug}/webhooks`, BAD_BODY],
        ['GET', `/api/campaign/${BAD_SLUG}/webhooks`, undefined],
        [
          'PATCH',
          `/api/campaign/${slug}/webhooks/${BAD_ID}`,
          JSON.stringify({ url: 'https://example.com/h' }),
        ],
        ['PATCH', `/api/campaign/${slug}/leads/lead_1`, JSON.stringify({ status: 'nope' })],
        ['GET', `/api/campaign/${slug}/leads?per_page=abc`, undefined],
        ['GET', '/api/amadeus/impact', undefined],
        ['POST', '/api/amadeus/import', BAD_BODY],
      ]
      for (const [method, url, payload] of cases) {
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: {
            ...adminHeaders,
            'x-forwarded-for': network(),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(payload ? { payload } : {}),
        })
        assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', `${method} ${url}: ${res.body}`)
      }
    })
  })
}
