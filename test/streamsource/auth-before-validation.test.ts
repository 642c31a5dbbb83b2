import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { DIALECTS, json, suiteApp } from '../helper.js'
import { account } from './helpers.js'

/**
 * Every `/api/v1` route that needs a caller checks it before its input, as Rails'
 * `before_action :authenticate` does: no credential (or one that does not work) is 401
 * `Unauthorized`, whatever the body, params or query hold, never a 422/400 naming the fields of
 * the route's schema. The routes are read from the stream manifest; which of them need a caller,
 * from the security each declares in the OpenAPI document (login and signup declare none).
 */

let networks = 0
/** A client network of its own per request, so no refusal spends another's anonymous budget. */
const network = () => `10.${200 + (++networks >> 8)}.${networks % 256}.7`

/** Over every `:id` limit (20 characters) yet a route the router still finds. */
const BAD_ID = '9'.repeat(80)
/** Too long, wrong type or out of range for every querystring that declares these. */
const BAD_QUERY = `status=${'x'.repeat(40)}&page=0&per_page=abc&format=${'x'.repeat(20)}`
/** Valid JSON no body schema takes, and JSON that does not parse at all. */
const BAD_BODIES = [
  JSON.stringify([{ enabled: 'yes', user: 7, stream: 42, link: 9, role: 'king' }]),
  '{"user": {"email": ',
]

interface OpenApi {
  paths: Record<string, Record<string, { security?: unknown[] }>>
}

function needsCaller(doc: OpenApi, method: string, path: string): boolean {
  const operation = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]
  assert.ok(operation, `${method} ${path} is declared in the manifest but not served`)
  return (operation.security?.length ?? 0) > 0
}

function malformed(
  app: FastifyInstance,
  method: string,
  path: string,
  body: string,
  headers: Record<string, string>,
) {
  const withBody = method !== 'GET'
  return app.inject({
    method: method as 'GET',
    url: `${path.replace(/:\w+/g, BAD_ID)}?${BAD_QUERY}`,
    headers: {
      'x-forwarded-for': network(),
      ...(withBody ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(withBody ? { payload: body } : {}),
  })
}

for (const dialect of DIALECTS) {
  describe(`StreamSource /api/v1 checks the caller before the input (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('answers 401 on every route that needs a caller, whatever the body, params or query', async () => {
      const { app } = suite
      const doc = json<OpenApi>(await app.inject({ method: 'GET', url: '/docs/openapi.json' }))
      const manifest = app.modules.get('stream')
      assert.ok(manifest, 'the stream module is registered')
      const callers: Array<[string, Record<string, string>]> = [
        ['nobody', {}],
        ['a token that does not work', { authorization: 'Bearer not-a-token' }],
      ]
      const wrong: string[] = []
      const checked: string[] = []
      for (const e of manifest.endpoints) {
        if (!e.path.startsWith('/api/v1/') || !needsCaller(doc, e.method, e.path)) continue
        checked.push(`${e.method} ${e.path}`)
        for (const body of BAD_BODIES) {
          for (const [who, headers] of callers) {
            const res = await malformed(app, e.method, e.path, body, headers)
            const answer = res.body ? (JSON.parse(res.body) as { error?: unknown; details?: unknown }) : {}
            if (res.statusCode !== 401 || answer.error !== 'Unauthorized' || answer.details !== undefined)
              wrong.push(`${e.method} ${e.path} by ${who}: ${res.statusCode} ${res.body.slice(0, 160)}`)
          }
        }
      }
      // An empty walk would prove nothing: the manifest declares ~25 routes that need a caller.
      assert.ok(checked.length >= 20, `only ${checked.length} routes need a caller: ${checked.join(', ')}`)
      assert.deepEqual(wrong, [])
    })

    it('still names the fields to a caller allowed to use the route', async () => {
      const { app } = suite
      const admin = await account(app, 'admin')
      const cases: Array<[string, string, unknown]> = [
        ['POST', '/api/v1/streams', { link: 42 }],
        ['PUT', '/api/v1/admin/maintenance', { enabled: 'yes' }],
        ['PATCH', '/api/v1/users/1', { role: 'king' }],
        ['PUT', '/api/v1/users/password', { user: 7 }],
      ]
      for (const [method, url, payload] of cases) {
        const res = await app.inject({
          method: method as 'POST',
          url,
          headers: { ...admin.headers, 'x-forwarded-for': network() },
          payload: payload as object,
        })
        assert.equal(res.statusCode, 422, `${method} ${url}: ${res.body}`)
        assert.ok(json(res).details, `${method} ${url}: ${res.body}`)
      }
    })

    it('tells a signed-in caller without the admin role 403 before reading the input', async () => {
      const { app } = suite
      const viewer = await account(app, 'default')
      const cases: Array<[string, string, string]> = [
        ['PUT', '/api/v1/admin/maintenance', BAD_BODIES[0]!],
        ['PATCH', `/api/v1/users/${BAD_ID}`, BAD_BODIES[1]!],
        ['GET', `/api/v1/users?${BAD_QUERY}`, ''],
      ]
      for (const [method, url, payload] of cases) {
        const res = await app.inject({
          method: method as 'POST',
          url,
          headers: {
            ...viewer.headers,
            'x-forwarded-for': network(),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(payload ? { payload } : {}),
        })
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`)
        assert.equal(json(res).details, undefined, `${method} ${url}: ${res.body}`)
      }
    })
  })
}
